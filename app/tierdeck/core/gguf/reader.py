"""A bounds-checked GGUF header / key-value / tensor-info parser that never touches tensor data.

Why not `gguf.GGUFReader`: it builds a numpy view for every key, array element and tensor,
which takes about a second on a 150K-token vocabulary, and on a corrupt count it happily
loops for a very long time. Here every length is checked against the bytes that remain
before anything is read or allocated, large arrays that a planner never needs (token lists,
scores, merges) are skipped with only their count kept, and any inconsistency raises
GGUFError naming the file and the problem. The `gguf` package still supplies the type
tables (GGML_QUANT_SIZES), mirrored in types.py and checked by the tests.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from tierdeck.core.gguf.types import GGML_TYPES

MAGIC = b"GGUF"
MAX_DIMS = 4
# arrays longer than this are skipped (count kept): per-layer arrays are at most a few hundred
KEEP_ARRAY_MAX = 8192
MAX_STRING = 64 * 1024 * 1024  # no legitimate key or name comes near this

_SCALARS = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
T_STRING, T_ARRAY = 8, 9


class GGUFError(Exception):
    """A file that is not a readable GGUF: the message names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass
class SkippedArray:
    """A large array left unread: only its element type and length are known."""

    item_type: int
    count: int

    def __len__(self) -> int:
        return self.count


@dataclass
class RawTensor:
    name: str
    shape: tuple[int, ...]  # ggml order: ne[0] first (the row length)
    ggml_type: int
    offset: int  # relative to the data section
    n_bytes: int
    n_elements: int


@dataclass
class RawGGUF:
    path: Path
    version: int
    file_size: int
    alignment: int
    data_offset: int
    kv: dict[str, object] = field(default_factory=dict)
    tensors: list[RawTensor] = field(default_factory=list)


class _Cursor:
    __slots__ = ("buf", "pos", "end", "path")

    def __init__(self, buf, path: Path):
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.path = path

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.end:
            raise GGUFError(
                self.path,
                f"truncated or corrupt: {what} needs {n} bytes at offset {self.pos}, "
                f"file has {self.end}",
            )

    def scalar(self, t: int, what: str):
        fmt, size = _SCALARS[t]
        self.need(size, what)
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return v

    def u32(self, what: str) -> int:
        return self.scalar(4, what)

    def u64(self, what: str) -> int:
        return self.scalar(10, what)

    def string(self, what: str) -> str:
        n = self.u64(f"length of {what}")
        if n > MAX_STRING:
            raise GGUFError(self.path, f"corrupt: {what} claims {n} bytes")
        self.need(n, what)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        n = self.u64(f"length of {what}")
        self.need(n, what)
        self.pos += n


_U64 = struct.Struct("<Q").unpack_from


def _skip_strings(c: _Cursor, n: int, key: str) -> None:
    # hot loop for 100K+ token lists: locals only, one bounds check per item
    buf, pos, end = c.buf, c.pos, c.end
    for _ in range(n):
        if pos + 8 > end:
            break
        pos += 8 + _U64(buf, pos)[0]
        if pos > end:
            break
    else:
        c.pos = pos
        return
    raise GGUFError(c.path, f"truncated or corrupt: string array {key} runs past the end of the file")


def _read_value(c: _Cursor, t: int, key: str):
    if t in _SCALARS:
        return c.scalar(t, f"value of {key}")
    if t == T_STRING:
        return c.string(f"value of {key}")
    if t == T_ARRAY:
        it = c.u32(f"array type of {key}")
        n = c.u64(f"array length of {key}")
        if it in _SCALARS:
            fmt, size = _SCALARS[it]
            c.need(n * size, f"array {key} ({n} items)")
            if n > KEEP_ARRAY_MAX:
                c.pos += n * size
                return SkippedArray(it, n)
            vals = list(struct.unpack_from(f"<{n}{fmt[1]}", c.buf, c.pos))
            c.pos += n * size
            return vals
        if it == T_STRING:
            # each string costs at least its 8-byte length: reject impossible counts up front
            c.need(n * 8, f"array {key} ({n} strings)")
            if n > KEEP_ARRAY_MAX:
                _skip_strings(c, n, key)
                return SkippedArray(it, n)
            return [c.string(f"item of {key}") for _ in range(n)]
        raise GGUFError(c.path, f"corrupt: array {key} has unsupported item type {it}")
    raise GGUFError(c.path, f"corrupt: key {key} has unknown value type {t}")


def tensor_nbytes(path: Path, name: str, shape: tuple[int, ...], ggml_type: int) -> int:
    if ggml_type not in GGML_TYPES:
        raise GGUFError(path, f"tensor {name} has unknown ggml type {ggml_type}")
    tname, block, tsize = GGML_TYPES[ggml_type]
    if shape[0] % block:
        raise GGUFError(
            path, f"tensor {name}: row length {shape[0]} is not a multiple of the {tname} block ({block})"
        )
    rows = 1
    for d in shape[1:]:
        rows *= d
    return rows * (shape[0] // block) * tsize


def parse(path: str | os.PathLike) -> RawGGUF:
    """Parse header, key-values and tensor infos of one GGUF file (one split part)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 24:
                head = f.read(4)
                if head != MAGIC:
                    raise GGUFError(path, f"not a GGUF file ({size} bytes, no GGUF magic)")
                raise GGUFError(path, f"truncated: {size} bytes is shorter than a GGUF header")
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except GGUFError:
        raise
    except IsADirectoryError:
        raise GGUFError(path, "is a directory, not a GGUF file") from None
    except FileNotFoundError:
        raise GGUFError(path, "no such file") from None
    except OSError as e:
        raise GGUFError(path, f"cannot read: {e.strerror or e}") from None
    try:
        return _parse_buf(path, mm, size)
    finally:
        mm.close()


def _parse_buf(path: Path, mm, size: int) -> RawGGUF:
    c = _Cursor(memoryview(mm), path)
    try:
        if bytes(c.buf[0:4]) != MAGIC:
            raise GGUFError(path, f"not a GGUF file (starts with {bytes(c.buf[0:4])!r})")
        c.pos = 4
        version = c.u32("version")
        if version in (1,):
            raise GGUFError(path, "GGUF version 1 is too old (re-convert the model)")
        if version not in (2, 3):
            if struct.unpack("<I", struct.pack(">I", version))[0] in (2, 3):
                raise GGUFError(path, "big-endian GGUF files are not supported")
            raise GGUFError(path, f"unsupported GGUF version {version}")
        n_tensors = c.u64("tensor count")
        n_kv = c.u64("key-value count")
        # the smallest key-value is 8 (key length) + 1 + 4 (type) + 1 byte; a tensor info 8+4+8+4+8
        if n_kv * 13 > size or n_tensors * 32 > size:
            raise GGUFError(path, f"corrupt header: {n_kv} keys / {n_tensors} tensors cannot fit in {size} bytes")
        raw = RawGGUF(path=path, version=version, file_size=size, alignment=32, data_offset=0)
        for i in range(n_kv):
            key = c.string(f"key #{i}")
            t = c.u32(f"type of key {key}")
            raw.kv[key] = _read_value(c, t, key)
        align = raw.kv.get("general.alignment", 32)
        if not isinstance(align, int) or align <= 0 or align & (align - 1) or align > 1 << 20:
            raise GGUFError(path, f"corrupt: general.alignment = {align!r} is not a power of two")
        raw.alignment = align
        for i in range(n_tensors):
            name = c.string(f"name of tensor #{i}")
            nd = c.u32(f"dimension count of tensor {name}")
            if not 1 <= nd <= MAX_DIMS:
                raise GGUFError(path, f"corrupt: tensor {name} has {nd} dimensions")
            c.need(8 * nd, f"shape of tensor {name}")
            shape = struct.unpack_from(f"<{nd}Q", c.buf, c.pos)
            c.pos += 8 * nd
            if any(d == 0 or d > 1 << 40 for d in shape):
                raise GGUFError(path, f"corrupt: tensor {name} has shape {list(shape)}")
            gt = c.u32(f"type of tensor {name}")
            off = c.u64(f"offset of tensor {name}")
            nb = tensor_nbytes(path, name, shape, gt)
            n_el = 1
            for d in shape:
                n_el *= d
            raw.tensors.append(RawTensor(name, tuple(shape), gt, off, nb, n_el))
        raw.data_offset = (c.pos + align - 1) // align * align
        avail = size - raw.data_offset
        for t in raw.tensors:
            if t.offset % align:
                raise GGUFError(path, f"corrupt: tensor {t.name} offset {t.offset} is not aligned to {align}")
            if t.offset + t.n_bytes > avail:
                raise GGUFError(
                    path,
                    f"truncated: tensor {t.name} ends at byte {raw.data_offset + t.offset + t.n_bytes} "
                    f"but the file has {size} bytes",
                )
        return raw
    except struct.error as e:  # defensive: every read is bounds-checked first
        raise GGUFError(path, f"corrupt: {e}") from None
    finally:
        c.buf.release()
