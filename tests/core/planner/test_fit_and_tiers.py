"""The choice (largest context, cache type, alternatives), tiers together, speed, and the CLI."""

from __future__ import annotations

import json

import pytest

from tierdeck.cli import main
from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import qwen3_14b, qwen3_30b_a3b, write_model
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest, estimate, fit_context, plan_tiers
from tierdeck.core.units import GiB, MiB


def gpu(budget_gib: float, bw: float | None = 936e9) -> Device:
    b = int(budget_gib * GiB)
    return Device(0, "nvidia", "test GPU", b, b, b, 0, "test", bandwidth_bytes_per_s=bw)


@pytest.fixture(scope="module")
def q14(tmp_path_factory):
    return read_facts(write_model(tmp_path_factory.mktemp("m") / "q14.gguf", qwen3_14b(write_vocab=False)))


@pytest.fixture(scope="module")
def moe(tmp_path_factory):
    return read_facts(write_model(tmp_path_factory.mktemp("m") / "moe.gguf", qwen3_30b_a3b(write_vocab=False)))


def test_largest_context_is_a_multiple_of_256_and_maximal(q14):
    dev = gpu(16)
    r = fit_context(q14, PlanRequest(parallel=2), dev)
    assert r.best is not None and r.best.fits and r.shortfall_bytes == 0
    assert r.best.ctx_per_slot % 256 == 0
    bigger = estimate(q14, PlanRequest(ctx_per_slot=r.best.ctx_per_slot + 256, parallel=2), dev)
    assert not bigger.fits


def test_auto_cache_type_picks_q8_when_f16_cannot_reach_minimum(q14):
    dev = gpu(13.5)
    r = fit_context(q14, PlanRequest(parallel=2, type_k="auto", type_v="auto", min_ctx_per_slot=16384), dev)
    assert r.best is not None and r.best.type_k == "q8_0" and r.best.ctx_per_slot >= 16384
    assert not fit_context(q14, PlanRequest(parallel=2, min_ctx_per_slot=16384), dev).best


def test_does_not_fit_says_by_how_much_and_what_would(q14):
    dev = gpu(10)
    req = PlanRequest(ctx_per_slot=32768, parallel=2)
    r = fit_context(q14, req, dev)
    full = estimate(q14, req, dev)
    assert r.best is None and r.shortfall_bytes == full.total_bytes - dev.budget_bytes > 0
    assert "over" in r.explanation and r.alternatives
    assert all(a.fits for a in r.alternatives)
    assert any(a.type_k == "q8_0" for a in r.alternatives)


def test_n_cpu_moe_alternative(moe):
    dev = gpu(12)
    req = PlanRequest(ctx_per_slot=16384, parallel=1)
    assert not estimate(moe, req, dev).fits
    r = fit_context(moe, req, dev)
    cpu_moe = [a for a in r.alternatives if a.n_cpu_moe]
    assert cpu_moe and cpu_moe[0].fits and cpu_moe[0].ctx_per_slot == 16384
    n = cpu_moe[0].n_cpu_moe
    assert not estimate(moe, req.replace(n_cpu_moe=n - 1), dev).fits  # the smallest N that fits
    assert "--n-cpu-moe" in cpu_moe[0].server_args


def test_ngl_moves_layers_and_output_to_host(q14):
    dev = gpu(24)
    all_ = estimate(q14, PlanRequest(ctx_per_slot=4096), dev)
    part = estimate(q14, PlanRequest(ctx_per_slot=4096, ngl=21), dev)  # 20 layers + output
    assert part.weights_bytes == sum(q14.layer_bytes[20:]) + q14.output_bytes
    assert part.kv_bytes == all_.kv_bytes // 2
    assert part.host_bytes > all_.host_bytes
    none = estimate(q14, PlanRequest(ctx_per_slot=4096, ngl=0), dev)
    assert none.weights_bytes == 0 and none.kv_bytes == 0


def test_quantized_v_without_flash_attention_is_refused(q14):
    e = estimate(q14, PlanRequest(ctx_per_slot=4096, type_v="q8_0", flash_attn="off"), gpu(24))
    assert not e.valid and not e.fits and any("flash attention" in n for n in e.notes)


def test_two_tiers_same_gguf(q14):
    fast = (q14, PlanRequest(ctx_per_slot=8192, parallel=2))
    think = (q14, PlanRequest(ctx_per_slot=None, min_ctx_per_slot=16384))
    co = plan_tiers([fast, think], gpu(40))
    assert co.mode == "co-resident" and co.co_resident_bytes <= 40 * GiB
    assert co.estimates[1].ctx_per_slot >= 16384
    sw = plan_tiers([fast, think], gpu(20))
    assert sw.mode == "swap" and sw.swap_bytes <= 20 * GiB
    assert "same GGUF" in " ".join(sw.notes)
    none = plan_tiers([fast, think], gpu(8))
    assert none.mode == "none"
    assert json.dumps(co.to_dict())


def test_speed_estimate_counts_active_experts(q14, moe):
    dev = gpu(80, bw=1000e9)
    dense = estimate(q14, PlanRequest(ctx_per_slot=4096), dev)
    sparse = estimate(moe, PlanRequest(ctx_per_slot=4096), dev)
    assert dense.speed_tokens_per_s == pytest.approx(1000e9 / (q14.weights_bytes - q14.embd_bytes))
    assert sparse.speed_tokens_per_s > 3 * dense.speed_tokens_per_s
    assert "estimate" in sparse.speed_note and "8 of 128" in sparse.speed_note
    assert estimate(q14, PlanRequest(ctx_per_slot=4096), gpu(80, bw=None)).speed_tokens_per_s is None


def test_cli_plan_json(tmp_path, capsys):
    p = write_model(tmp_path / "q14.gguf", qwen3_14b(write_vocab=False))
    rc = main(["plan", str(p), "--budget", "24GiB", "--ctx", "16384", "--parallel", "2", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["fits"]
    for k in ("weights_bytes", "kv_bytes", "recurrent_bytes", "compute_bytes", "overhead_bytes",
              "total_bytes", "budget_bytes", "fits", "ctx_total", "ctx_per_slot", "parallel",
              "type_k", "type_v", "model", "notes"):
        assert k in d
    assert d["ctx_total"] == 32768 and d["ctx_per_slot"] == 16384 and d["budget_bytes"] == 24 * GiB
    assert d["kv_bytes"] == 160 * 1024 * 32768
    assert d["model"]["arch"] == "qwen3" and d["model"]["n_layer"] == 40 and d["model"]["kv_layers"] == 40


def test_cli_plan_table_auto_and_errors(tmp_path, capsys):
    p = write_model(tmp_path / "q14.gguf", qwen3_14b(write_vocab=False))
    assert main(["plan", str(p), "--budget", "12GiB", "-np", "2"]) == 0
    out = capsys.readouterr().out
    assert "KV cache" in out and "FITS" in out and "total" in out
    assert main(["plan", str(p), "--budget", "9GiB", "--ctx", "40960"]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT FIT" in out and "fits instead" in out
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nope")
    assert main(["plan", str(bad), "--budget", "9GiB"]) == 2
    assert "not a GGUF" in capsys.readouterr().err
    assert main(["plan", str(p), "--budget", "9GiB", "-ctk", "q3"]) == 2
    assert main(["plan", str(p), "--budget", "lots"]) == 2


def test_cli_inspect(tmp_path, capsys):
    p = write_model(tmp_path / "moe.gguf", qwen3_30b_a3b(write_vocab=False))
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "qwen3moe" in out and "8 of 128 used" in out
    assert main(["inspect", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_expert"] == 128 and len(d["tensors"]) == d["n_tensors"] == 579
    assert d["tensors"][0]["ggml_type"] == "Q4_K" and d["weights_bytes"] > 18 * GiB
    assert d["file_bytes"] > d["weights_bytes"] - MiB
