"""The GGUF reader: facts from real files, split models, and clean errors on bad files."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierdeck.core.gguf import GGUFError, read_facts
from tierdeck.core.gguf.synth import Q, SynthModel, TensorSpec, dense_model, qwen3_14b, write_model
from tierdeck.core.tinymodel import TinySpec, write_tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("m") / "t.gguf", TinySpec())


def test_tiny_facts(tiny):
    f = read_facts(tiny)
    assert f.arch == "llama" and f.n_layer == 2 and f.n_embd == 64
    assert [(lk.n_embd_k, lk.n_embd_v) for lk in f.kv_layers] == [(32, 32), (32, 32)]
    assert f.vocab_size == 269 and f.ctx_train == 4096
    assert f.file_type == "ALL_F32"
    assert f.weights_bytes == sum(t.n_bytes for t in f.tensors) == f.param_count * 4
    d = f.to_dict()
    assert d["kv_layers"] == 2 and d["arch"] == "llama" and len(d["tensors"]) == len(f.tensors)


def test_per_layer_kv_head_array(tmp_path):
    m = dense_model("qwen3", name="per-layer", n_layer=4, n_embd=64, n_head=4, n_head_kv=[2, 1, 4, 0],
                    head_dim=16, n_ff=128, vocab=300, ctx_train=4096, qtype=Q.F32)
    f = read_facts(write_model(tmp_path / "pl.gguf", m))
    assert f.n_head_kv == [2, 1, 4, 0]
    # A layer with 0 KV heads holds no cache at all.
    assert [(lk.n_embd_k, lk.n_embd_v) for lk in f.kv_layers] == [(32, 32), (16, 16), (64, 64), (0, 0)]


def test_sparse_14b_facts_come_from_the_header_alone(tmp_path):
    # How fast: bench/plan_bench.py. Here: a 9.5 GB file whose data region is a hole.
    p = write_model(tmp_path / "q14.gguf", qwen3_14b())
    assert os.path.getsize(p) > 9e9  # apparent size
    assert os.stat(p).st_blocks * 512 < 50e6  # the data region is a hole
    f = read_facts(p)
    assert f.n_layer == 40 and len(f.tensors) == 443 and f.vocab_size == 151936
    assert abs(f.param_count - 14.77e9) < 0.01e9


def test_split_model_is_one_model(tmp_path):
    full = qwen3_14b(write_vocab=False)
    half = len(full.tensors) // 2
    p1 = SynthModel(full.arch, dict(full.kv, **{"split.no": 0, "split.count": 2}), full.tensors[:half])
    p2 = SynthModel(full.arch, {"split.no": 1, "split.count": 2}, full.tensors[half:])
    a = write_model(tmp_path / "m-00001-of-00002.gguf", p1)
    b = write_model(tmp_path / "m-00002-of-00002.gguf", p2)
    for part in (a, b):
        f = read_facts(part)
        assert len(f.tensors) == 443 and len(f.files) == 2 and f.n_layer == 40
        assert f.weights_bytes == sum(t.n_bytes for t in full.tensors)
    b.unlink()
    with pytest.raises(GGUFError, match="missing part"):
        read_facts(a)


@pytest.mark.parametrize("content,msg", [
    (b"", "not a GGUF"),
    (b"hello world, this is plainly not a model file", "not a GGUF"),
    (b"GGUF\x01\x00\x00\x00" + b"\x00" * 40, "version 1"),
    (b"GGUF\x00\x00\x00\x03" + b"\x00" * 40, "big-endian"),
    (b"GGUF\x03\x00\x00\x00" + b"\xff" * 16 + b"\x00" * 16, "corrupt header"),
])
def test_bad_files(tmp_path, content, msg):
    p = tmp_path / "bad.gguf"
    p.write_bytes(content)
    with pytest.raises(GGUFError, match=msg) as ei:
        read_facts(p)
    assert str(p) in str(ei.value)


def test_missing_and_directory(tmp_path):
    with pytest.raises(GGUFError, match="no such file"):
        read_facts(tmp_path / "nope.gguf")
    with pytest.raises(GGUFError, match="directory"):
        read_facts(tmp_path)


def test_every_truncation_is_a_clean_error(tiny, tmp_path):
    data = tiny.read_bytes()
    p = tmp_path / "cut.gguf"
    header_end = 0
    f = read_facts(tiny)
    header_end = len(data) - f.weights_bytes  # roughly where the data starts
    cuts = sorted(set(range(0, header_end + 64, 13)) | {len(data) - 1, len(data) - 4096})
    for n in cuts:
        p.write_bytes(data[:n])
        t = time.perf_counter()
        with pytest.raises(GGUFError):
            read_facts(p)
        assert time.perf_counter() - t < 1.0


def _check(p: Path) -> None:
    t = time.perf_counter()
    try:
        read_facts(p)
    except GGUFError as e:
        assert str(p) in str(e)
    assert time.perf_counter() - t < 1.0


def test_byte_flips_in_the_header(tiny, tmp_path):
    data = tiny.read_bytes()
    rng = random.Random(1234)
    head = len(data) - read_facts(tiny).weights_bytes
    p = tmp_path / "flip.gguf"
    for _ in range(400):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(head)
            b[i] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        p.write_bytes(bytes(b))
        _check(p)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_header_fields(tiny, tmp_path, data):
    raw = bytearray(tiny.read_bytes())
    head = len(raw) - 425728 + 4096  # a window over header, keys and tensor infos
    pos = data.draw(st.integers(0, max(0, min(head, len(raw)) - 8)))
    val = data.draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 9, 13, 255]))
    width = data.draw(st.sampled_from([1, 4, 8]))
    raw[pos:pos + width] = (val % (1 << (8 * width))).to_bytes(width, "little")
    p = tmp_path / "fz.gguf"
    p.write_bytes(bytes(raw))
    _check(p)


def test_unknown_tensor_type_and_bad_row(tmp_path):
    m = SynthModel("llama", {"llama.block_count": 1}, [TensorSpec("tensor_x", (32, 2))])
    p = write_model(tmp_path / "ok.gguf", m)
    good = p.read_bytes()
    assert read_facts(p).weights_bytes == 256
    # tensor info: name, n_dims (u32), ne (2 x u64), type (u32), offset (u64)
    at = good.find(b"tensor_x") + len(b"tensor_x")
    bad_type = bytearray(good)
    bad_type[at + 20:at + 24] = (999).to_bytes(4, "little")
    p.write_bytes(bytes(bad_type))
    with pytest.raises(GGUFError, match="unknown ggml type"):
        read_facts(p)
    bad_row = bytearray(good)
    bad_row[at + 20:at + 24] = (8).to_bytes(4, "little")  # q8_0 needs rows of 32: ok
    bad_row[at + 4:at + 12] = (33).to_bytes(8, "little")
    p.write_bytes(bytes(bad_row))
    with pytest.raises(GGUFError, match="multiple of the Q8_0 block"):
        read_facts(p)


def test_agrees_with_the_official_gguf_reader(tiny):
    import gguf

    from tierdeck.core.gguf.reader import parse

    ours = parse(tiny)
    ref = gguf.GGUFReader(str(tiny))
    assert ours.data_offset == ref.data_offset and ours.alignment == ref.alignment
    assert [t.name for t in ours.tensors] == [t.name for t in ref.tensors]
    for a, b in zip(ours.tensors, ref.tensors, strict=True):
        assert list(a.shape) == [int(x) for x in b.shape]
        assert a.ggml_type == int(b.tensor_type) and a.n_bytes == int(b.n_bytes)
        assert ours.data_offset + a.offset == int(b.data_offset)
    for key, field in ref.fields.items():
        if key.startswith("GGUF."):
            continue
        v = ours.kv[key]
        if isinstance(v, list | int | float | str):
            assert v == pytest.approx(field.contents()) if isinstance(v, float) else v == field.contents()
