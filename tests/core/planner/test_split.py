"""One tier across several devices: llama.cpp's layer placement, per-device sums and fits."""

from __future__ import annotations

import pytest

from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import Q, dense_model, qwen3_14b, write_model
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest
from tierdeck.core.planner import memory as m
from tierdeck.core.planner import split as sp
from tierdeck.core.planner.multi import device_args, estimate_split, order_devices
from tierdeck.core.planner.multi_fit import fit_split
from tierdeck.core.units import GiB


def gpu(i: int, gib: float, kind: str = "nvidia", name: str | None = None) -> Device:
    b = int(gib * GiB)
    return Device(i, kind, name or f"CUDA{i}", b, b, b, 0, "test")


@pytest.fixture(scope="module")
def q14(tmp_path_factory):
    return read_facts(write_model(tmp_path_factory.mktemp("m") / "q14.gguf", qwen3_14b(write_vocab=False)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    spec = dense_model("llama", name="tiny", n_layer=6, n_head_kv=2, n_embd=256, n_head=8, head_dim=32,
                       n_ff=512, vocab=2000, ctx_train=8192, qtype=Q.F32, qk_norm=False)
    return read_facts(write_model(tmp_path_factory.mktemp("m") / "t.gguf", spec))


def test_layer_counts_as_split_reproduce_exactly():
    """-ts given as per-device layer counts (output layer included) lands exactly those counts,
    through llama.cpp's float32 split points; checked for 2 and 3 devices up to 120 layers."""
    for n in range(1, 121):
        for c0 in range(n + 2):
            counts = [c0, n + 1 - c0]
            assert sp.layer_counts(sp.assign_layers(n, None, sp.counts_to_split(counts)), 2) == counts
        for c0, c1 in ((n // 3, n // 3), (0, n // 2), (n // 2, 0)):
            counts = [c0, c1, n + 1 - c0 - c1]
            assert sp.layer_counts(sp.assign_layers(n, None, counts), 3) == counts


def test_placement_follows_llama_cpp():
    # 40 layers + output, -ts 1,1: split point 0.5, layer il on device 0 while il/41 < 0.5
    a = sp.assign_layers(40, None, [1, 1])
    assert a[:21] == [0] * 21 and a[21:] == [1] * 20 and a[40] == 1
    # -ngl 10: layers 31..39 and the output are offloaded, the rest stays on the CPU
    a = sp.assign_layers(40, 10, [3, 1])
    assert a[:31] == [sp.CPU] * 31 and sp.layer_counts(a, 2) == [8, 2]
    # weights by free memory (24 GiB + 12 GiB): two thirds of the layers on the first device
    assert sp.layer_counts(sp.assign_layers(40, None, [24 * GiB, 12 * GiB]), 2) == [28, 13]


def test_rpc_devices_come_first():
    devs = [gpu(0, 24), gpu(0, 8, "rpc", "10.0.0.2:50052"), gpu(1, 12)]
    assert [d.kind for d in order_devices(devs)] == ["rpc", "nvidia", "nvidia"]


def test_per_device_numbers_sum_to_totals_and_each_fits(q14):
    devs = [gpu(0, 24), gpu(1, 12)]
    fr = fit_split(q14, PlanRequest(), devs)
    e = fr.best
    assert e is not None and e.fits
    for d in e.devices:
        assert d.total_bytes <= d.budget_bytes
        assert d.total_bytes == d.weights_bytes + d.kv_bytes + d.recurrent_bytes + d.compute_bytes + d.overhead_bytes
    for k in ("weights_bytes", "kv_bytes", "compute_bytes", "overhead_bytes", "total_bytes", "budget_bytes"):
        assert getattr(e, k) == sum(getattr(d, k) for d in e.devices)
    # every repeating layer's weights are on exactly one device; the input layer stays on the host
    lw = sp.layer_weights(q14, "nvidia")
    assert e.weights_bytes == sum(lw.layers) + lw.output
    # the KV cache of all 40 layers at the planned context, split by layer
    c = m.cells(q14, e.ctx_total, 1, False, 512)
    assert e.kv_bytes == sum(b for _, b in m.kv_layer_bytes(q14, c, "f16", "f16", True))
    assert sum(d.n_layers for d in e.devices) == q14.n_layer + 1
    assert e.devices[1].output_layer and not e.devices[0].output_layer
    assert device_args(e) == ["--split-mode", "layer", "--tensor-split", sp.fmt_split(e.tensor_split)]


def test_two_devices_reach_more_context_than_the_larger_alone(q14):
    req = PlanRequest(ctx_per_slot=None, parallel=4)
    alone = fit_split(q14, req, [gpu(0, 14)]).best
    both = fit_split(q14, req, [gpu(0, 14), gpu(1, 8)]).best
    assert alone is not None and both is not None
    assert both.ctx_per_slot > alone.ctx_per_slot


def test_balanced_split_beats_the_split_by_budget(q14):
    """llama.cpp's default (by free memory) ignores that each device pays a compute buffer and a
    CUDA context; the planner's split accounts for them and fits at least as much context."""
    devs = [gpu(0, 10), gpu(1, 6)]
    req = PlanRequest(parallel=2)
    by_budget = fit_split(q14, req, devs, tensor_split=[10, 6]).best
    balanced = fit_split(q14, req, devs).best
    assert balanced.ctx_per_slot >= by_budget.ctx_per_slot


def test_does_not_fit_says_which_device_is_over(q14):
    fr = fit_split(q14, PlanRequest(ctx_per_slot=32768), [gpu(0, 6), gpu(1, 2)], tensor_split=[1, 1])
    assert fr.best is None
    assert "CUDA1" in fr.explanation and "over" in fr.explanation


def test_row_and_none_modes_keep_kv_on_the_main_gpu(tiny):
    devs = [gpu(0, 8), gpu(1, 8)]
    req = PlanRequest(ctx_per_slot=1024)
    row = estimate_split(tiny, req, devs, "row", [1, 1], main_gpu=1)
    assert row.devices[0].kv_bytes == 0 and row.devices[1].kv_bytes > 0
    assert row.devices[0].weights_bytes > 0  # half the matrix rows
    assert "--main-gpu" in row.server_args
    none = estimate_split(tiny, req, devs, "none", main_gpu=0)
    assert none.devices[1].total_bytes == 0 and none.devices[0].n_layers == tiny.n_layer + 1
    assert "--tensor-split" not in none.server_args


def test_rpc_hosts_get_rpc_flag_and_the_security_note(tiny):
    devs = order_devices([gpu(0, 1, "rpc", "127.0.0.1:50052"), gpu(1, 1, "rpc", "127.0.0.1:50053")])
    e = estimate_split(tiny, PlanRequest(ctx_per_slot=1024), devs)
    assert e.server_args[e.server_args.index("--rpc") + 1] == "127.0.0.1:50052,127.0.0.1:50053"
    assert [d.name for d in e.devices] == ["RPC0[127.0.0.1:50052]", "RPC1[127.0.0.1:50053]"]
    assert any("unauthenticated" in n for n in e.notes)
    assert e.devices[0].overhead_bytes == 0


def test_bad_split_settings_are_errors(tiny):
    with pytest.raises(ValueError, match="main GPU 3"):
        estimate_split(tiny, PlanRequest(ctx_per_slot=256), [gpu(0, 1)], "row", main_gpu=3)
    with pytest.raises(ValueError, match="negative"):
        sp.parse_split("3,-1")
    with pytest.raises(ValueError, match="not a number"):
        sp.parse_split("3,x")
    assert sp.parse_split("24,12") == [24.0, 12.0]


def test_cuda_buffers_pad_quantized_rows(tmp_path):
    """CUDA adds one row's worth of padding to 512 elements after a quantized matrix whose rows
    are not a multiple of 512 (2304 = 4.5 x 512 here), and aligns tensors to 128 bytes."""
    spec = dense_model("llama", name="q", n_layer=1, n_head_kv=4, n_embd=2304, n_head=18, head_dim=128,
                       n_ff=512, vocab=1000, ctx_train=4096, qtype=Q.Q4_0, qk_norm=False)
    f = read_facts(write_model(tmp_path / "q.gguf", spec))
    want_cpu = want_cuda = 0
    for t in f.tensors:
        if not t.name.startswith("blk.0."):
            continue
        extra = (512 - t.shape[0] % 512) // 32 * 18 if t.ggml_type == "Q4_0" and t.shape[0] % 512 else 0
        want_cpu += m.pad(t.n_bytes, 32)
        want_cuda += m.pad(t.n_bytes + extra, 128)
    assert any(t.ggml_type == "Q4_0" and t.shape[0] == 2304 for t in f.tensors)
    assert sp.layer_weights(f, "cpu").layers[0] == want_cpu
    assert sp.layer_weights(f, "nvidia").layers[0] == want_cuda > want_cpu
