"""KV per token of real models, from metadata-only GGUFs, against values computed by hand."""

from __future__ import annotations

import pytest

from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import write_model
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest, estimate
from tierdeck.core.units import GiB, KiB, MiB

from . import shapes

CPU = Device(0, "cpu", "test", 512 * GiB, 512 * GiB, 512 * GiB, 0, "test")


def _facts(tmp_path, model, name):
    return read_facts(write_model(tmp_path / f"{name}.gguf", model, data="none"))


def _kv(f, ctx, **kw):
    return estimate(f, PlanRequest(ctx_per_slot=ctx, flash_attn="on", **kw), CPU)


def test_qwen3_14b(tmp_path):
    f = _facts(tmp_path, shapes.qwen3_14b(), "q14")
    # 40 layers x (K + V) x 8 KV heads x 128 x 2 bytes (f16)
    assert f.kv_elements_per_token() * 2 == 40 * 2 * 8 * 128 * 2 == 160 * KiB
    e = _kv(f, 32768)
    assert e.kv_bytes == 160 * KiB * 32768 == 5 * GiB
    # q8_0: 34 bytes per 32 elements, not 1 byte per element
    e8 = _kv(f, 32768, type_k="q8_0", type_v="q8_0")
    assert e8.kv_bytes == 40 * 2 * (1024 // 32 * 34) * 32768
    e4 = _kv(f, 32768, type_k="q4_0", type_v="q4_0")
    assert e4.kv_bytes == 40 * 2 * (1024 // 32 * 18) * 32768


@pytest.mark.parametrize("nextn", [False, True])
def test_qwen36_35b_a3b_hybrid(tmp_path, nextn):
    f = _facts(tmp_path, shapes.qwen36_35b_a3b(nextn), "q36")
    # full attention on layers 3, 7, ..., 39: 10 of 40; the MTP block keeps no KV in the main context
    assert [lk.il for lk in f.kv_layers] == list(range(3, 40, 4))
    assert f.n_recurrent_layers == 30
    per_tok = 10 * 2 * 2 * 256 * 2  # 20 KiB at f16
    assert per_tok == 20 * KiB
    e = _kv(f, 262144)
    assert e.kv_bytes == per_tok * 262144 == 5 * GiB  # "a 256K context is ~5 GiB, not 20"
    # recurrent: r = (4-1) x (4096 + 2x16x128), s = 128 x 4096, f32, per layer per slot
    per_slot = 30 * 4 * (3 * (4096 + 2 * 16 * 128) + 128 * 4096)
    assert e.recurrent_bytes == per_slot
    assert 62 * MiB < per_slot < 64 * MiB
    assert _kv(f, 4096, parallel=2).recurrent_bytes == 2 * per_slot


def test_gpt_oss_120b_swa(tmp_path):
    f = _facts(tmp_path, shapes.gpt_oss_120b(), "oss")
    assert f.n_swa == 128
    assert f.swa_layers == [il % 2 == 0 for il in range(36)]
    row = 8 * 64 * 2 * 2  # K+V per layer per cell, f16
    e = _kv(f, 131072)
    swa_cells = 768  # pad256(min(131072, 128 + 512))
    assert e.swa_cells == swa_cells
    assert e.kv_bytes == 18 * row * 131072 + 18 * row * swa_cells
    assert e.kv_bytes_per_token == 18 * row == 36 * KiB
    # unified with 4 slots: the window is kept per sequence in one stream
    e4 = _kv(f, 32768, parallel=4, kv_unified=True)
    assert e4.swa_cells == 1024  # pad256(128 x 4 + 512)


def test_gemma3_27b_swa(tmp_path):
    f = _facts(tmp_path, shapes.gemma3_27b(), "g3")
    full = [il for il in range(62) if not f.swa_layers[il]]
    assert full == [5, 11, 17, 23, 29, 35, 41, 47, 53, 59]
    row = 16 * 128 * 2 * 2
    e = _kv(f, 131072)
    assert e.kv_bytes == 10 * row * 131072 + 52 * row * 1536
    assert e.kv_bytes_per_token == 80 * KiB


def test_glm47_flash_mla(tmp_path):
    f = _facts(tmp_path, shapes.glm47_flash(), "glm")
    assert f.is_mla
    assert len(f.kv_layers) == 47  # block 47 is the nextn/MTP block
    # K only: 576-wide latent (512 kv_lora_rank + 64 rope) x 1 head, f16
    e = _kv(f, 65536)
    assert e.kv_bytes == 47 * 576 * 2 * 65536
    assert e.kv_bytes_per_token == 47 * 576 * 2
    e8 = _kv(f, 65536, type_k="q8_0", type_v="q8_0")
    assert e8.kv_bytes == 47 * (576 // 32 * 34) * 65536


def test_unknown_arch_generic(tmp_path):
    m = shapes.qwen3_14b()
    m.arch = "futurearch"
    m.kv = {k.replace("qwen3.", "futurearch."): v for k, v in m.kv.items()}
    f = _facts(tmp_path, m, "fut")
    assert not f.known_arch
    e = _kv(f, 1024)
    assert e.kv_bytes == 160 * KiB * 1024
    assert any("generic" in n for n in e.notes)
