"""Parse the memory lines a llama-server prints while loading (visible at -lv 4).

Lines are matched on their text, not on the function prefix (which has changed across
llama.cpp versions), e.g.:

    load_tensors:   CPU_Mapped model buffer size =     0.41 MiB
    llama_kv_cache:        CPU KV buffer size =     0.50 MiB
    llama_kv_cache: size =    0.50 MiB (  1024 cells,   2 layers,  2/2 seqs), K (f16): ...
    llama_memory_recurrent:       CUDA0 RS buffer size = ...
    sched_reserve:        CPU compute buffer size =     2.14 MiB
    llama_context:        CPU  output buffer size =     0.58 MiB

Feed lines one at a time (the supervisor tails a log file); `result` is always current.
Sizes are printed in MiB with two decimals, so each is known to +-5 KiB.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

MiB = 1024 * 1024
_BUF = re.compile(
    r"(?P<dev>\S+)\s+(?P<kind>model|KV|RS|compute|output)\s+buffer size\s*=\s*(?P<mib>[0-9.]+)\s*MiB"
)
_KV_SIZE = re.compile(
    r"llama_kv_cache:\s+size\s*=\s*(?P<mib>[0-9.]+)\s*MiB\s*\(\s*(?P<cells>\d+)\s+cells,\s*(?P<layers>\d+)\s+layers,"
    r"\s*(?P<seqs>\d+)/(?P<streams>\d+)\s+seqs\)"
    r"(?:,\s*K \((?P<tk>[a-z0-9_]+)\):\s*(?P<kmib>[0-9.]+)\s*MiB)?"
    r"(?:,\s*V \((?P<tv>[a-z0-9_]+)\):\s*(?P<vmib>[0-9.]+)\s*MiB)?"
)
_CTX = re.compile(r"n_ctx_slot\s*=\s*(?P<slot>\d+)")
_NSLOTS = re.compile(r"n_slots\s*=\s*(?P<n>\d+)")
_HOST_PREFIXES = ("CPU", "CUDA_Host", "ROCm_Host", "Vulkan_Host")


def _bytes(mib: str) -> int:
    return round(float(mib) * MiB)


def device_of(buffer_name: str) -> str:
    """Map buffer names (CPU_Mapped, CPU_REPACK, CUDA_Host, CUDA0, Metal...) to a device."""
    if buffer_name.startswith(_HOST_PREFIXES):
        return "CPU"
    if buffer_name.startswith("Metal"):
        return "Metal"
    return buffer_name.split("_")[0]


@dataclass
class KVCacheLine:
    size_bytes: int
    cells: int  # per stream
    layers: int
    seqs: int  # n_seq_max (slots)
    streams: int  # 1 for a unified cache, else one per slot
    type_k: str | None
    type_v: str | None
    k_bytes: int | None
    v_bytes: int | None


@dataclass
class LoadedMemory:
    model_bytes: dict[str, int] = field(default_factory=dict)  # buffer name -> bytes
    kv_bytes: dict[str, int] = field(default_factory=dict)
    recurrent_bytes: dict[str, int] = field(default_factory=dict)
    compute_bytes: dict[str, int] = field(default_factory=dict)
    output_bytes: dict[str, int] = field(default_factory=dict)
    kv_caches: list[KVCacheLine] = field(default_factory=list)
    n_ctx_slot: int | None = None
    n_slots: int | None = None

    @property
    def model_total(self) -> int:
        return sum(self.model_bytes.values())

    @property
    def kv_total(self) -> int:
        return sum(self.kv_bytes.values())

    @property
    def recurrent_total(self) -> int:
        return sum(self.recurrent_bytes.values())

    @property
    def compute_total(self) -> int:
        return sum(self.compute_bytes.values())

    @property
    def output_total(self) -> int:
        return sum(self.output_bytes.values())

    @property
    def total(self) -> int:
        return self.model_total + self.kv_total + self.recurrent_total + self.compute_total + self.output_total

    @property
    def complete(self) -> bool:
        return bool(self.model_bytes) and bool(self.compute_bytes)

    def per_device(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in (self.model_bytes, self.kv_bytes, self.recurrent_bytes, self.compute_bytes, self.output_bytes):
            for name, b in d.items():
                dev = device_of(name)
                out[dev] = out.get(dev, 0) + b
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(model_total=self.model_total, kv_total=self.kv_total,
                 recurrent_total=self.recurrent_total, compute_total=self.compute_total,
                 output_total=self.output_total, total=self.total, per_device=self.per_device())
        return d


class MemoryLogParser:
    """Incremental: p.feed(line) per stderr line; p.result is the latest load's memory."""

    def __init__(self) -> None:
        self.result = LoadedMemory()
        self._seen_compute = False

    def feed(self, line: str) -> None:
        if "buffer size" in line:
            m = _BUF.search(line)
            if not m:
                return
            kind, dev, b = m.group("kind"), m.group("dev"), _bytes(m.group("mib"))
            if kind == "model" and self._seen_compute:
                # a second load in the same log (restart, sleep/wake): start over
                self.result = LoadedMemory()
                self._seen_compute = False
            target = {
                "model": self.result.model_bytes,
                "KV": self.result.kv_bytes,
                "RS": self.result.recurrent_bytes,
                "compute": self.result.compute_bytes,
                "output": self.result.output_bytes,
            }[kind]
            if kind == "compute":
                # the reserve is printed once per device; a later re-reserve replaces it
                target[dev] = b
                self._seen_compute = True
            else:
                target[dev] = target.get(dev, 0) + b
            return
        if "llama_kv_cache" in line and "size =" in line:
            m = _KV_SIZE.search(line)
            if m:
                self.result.kv_caches.append(KVCacheLine(
                    _bytes(m.group("mib")), int(m.group("cells")), int(m.group("layers")),
                    int(m.group("seqs")), int(m.group("streams")), m.group("tk"), m.group("tv"),
                    _bytes(m.group("kmib")) if m.group("kmib") else None,
                    _bytes(m.group("vmib")) if m.group("vmib") else None,
                ))
            return
        if "n_ctx_slot" in line:
            m = _CTX.search(line)
            if m:
                self.result.n_ctx_slot = int(m.group("slot"))
            m = _NSLOTS.search(line)
            if m:
                self.result.n_slots = int(m.group("n"))

    def feed_text(self, text: str) -> LoadedMemory:
        for line in text.splitlines():
            self.feed(line)
        return self.result
