"""Several NVIDIA cards: detected through NVML (injected readings, the code that runs on a real
driver), planned per device, and checked against per-device CUDA0/CUDA1 buffer lines posted in
a llama.cpp thread."""

from __future__ import annotations

import pytest

from tests.core.hardware.fake_nvml import FakeGpu, FakeNvml, rtx_3090_ti
from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import Q, dense_model, qwen3_14b, write_model
from tierdeck.core.hardware import detect_devices
from tierdeck.core.planner import PlanRequest
from tierdeck.core.planner import split as sp
from tierdeck.core.planner.estimate import CUDA_CONTEXT_BYTES
from tierdeck.core.planner.multi import estimate_split
from tierdeck.core.planner.multi_fit import fit_split
from tierdeck.core.servers.memlog import MemoryLogParser
from tierdeck.core.units import GiB, MiB


def gpus(*cards: FakeGpu):
    det = detect_devices(1024, nvml=FakeNvml(list(cards)), platform_name="linux", machine="x86_64",
                         memory=(64 * GiB, 40 * GiB))
    return [d for d in det.devices if d.kind == "nvidia"]


def rtx_3060(**kw) -> FakeGpu:
    return FakeGpu(name="NVIDIA GeForce RTX 3060", total=12288 * MiB, used=300 * MiB, uuid="GPU-3060",
                   bus_bits=192, mem_clock_mhz=7501, **kw)


@pytest.fixture(scope="module")
def q14(tmp_path_factory):
    return read_facts(write_model(tmp_path_factory.mktemp("m") / "q14.gguf", qwen3_14b(write_vocab=False)))


def test_two_3090_ti_split_evenly_each_paying_its_cuda_context(q14):
    devs = gpus(rtx_3090_ti(), rtx_3090_ti(display_bytes=300 * MiB))
    assert [d.name for d in devs] == ["NVIDIA GeForce RTX 3090 Ti"] * 2
    e = fit_split(q14, PlanRequest(parallel=2, ctx_per_slot=None), devs).best
    assert e is not None and e.fits
    assert [d.name for d in e.devices] == ["CUDA0", "CUDA1"]
    assert all(d.overhead_bytes == CUDA_CONTEXT_BYTES for d in e.devices)
    assert all(d.budget_bytes == dev.budget_bytes for d, dev in zip(e.devices, devs, strict=True))
    # the 41 layers (40 + output) land about evenly: the first card also holds a display
    assert abs(e.devices[0].n_layers - e.devices[1].n_layers) <= 3
    assert e.ctx_per_slot == q14.ctx_train  # 48 GB holds a 14B at its full training context
    a = e.server_args
    assert a[a.index("--tensor-split") + 1] == sp.fmt_split(e.tensor_split)


def test_3090_ti_and_3060_give_the_smaller_card_fewer_layers(q14):
    devs = gpus(rtx_3090_ti(), rtx_3060())
    req = PlanRequest(parallel=4, ctx_per_slot=32768)
    fr = fit_split(q14, req, devs)
    e = fr.best
    assert e is not None, fr.explanation
    big, small = e.devices
    assert big.n_layers > small.n_layers and small.output_layer
    assert big.total_bytes <= big.budget_bytes and small.total_bytes <= small.budget_bytes
    # llama.cpp's default (by free memory) would put the same share of layers on the 3060 regardless
    # of its compute buffer and CUDA context; the planned split is never worse at this context
    by_free = estimate_split(q14, req, devs, tensor_split=[d.free_bytes for d in devs])
    assert max(d.total_bytes / d.budget_bytes for d in e.devices) <= \
        max(d.total_bytes / d.budget_bytes for d in by_free.devices)


def test_3060_alone_cannot_hold_what_both_can(q14):
    devs = gpus(rtx_3090_ti(), rtx_3060())
    req = PlanRequest(parallel=1, ctx_per_slot=40960)
    assert fit_split(q14, req, devs[1:]).best is None
    assert fit_split(q14, req, devs).best is not None


# llama.cpp PR #6122 ("llama : greatly reduce output buffer memory usage"), a comment by Wuzzooy
# with an RTX 4070 Ti (CUDA0) and an RTX 3090 Ti (CUDA1), 40 layers + output offloaded, n_ctx 4096
# (a Command-R 35B: n_embd 8192, 64 heads, no GQA, freq_base 8e6). Lines as posted:
POSTED = """\
llm_load_tensors: offloaded 41/41 layers to GPU
llm_load_tensors:        CPU buffer size =  1640.62 MiB
llm_load_tensors:      CUDA0 buffer size =  5434.38 MiB
llm_load_tensors:      CUDA1 buffer size = 13989.53 MiB
llama_kv_cache_init:      CUDA0 KV buffer size =  1536.00 MiB
llama_kv_cache_init:      CUDA1 KV buffer size =  3584.00 MiB
llama_new_context_with_model: KV self size  = 5120.00 MiB, K (f16): 2560.00 MiB, V (f16): 2560.00 MiB
"""


def test_per_device_kv_reconstructs_a_posted_two_gpu_log(tmp_path):
    """The planner, given the split those lines imply (12 layers on CUDA0), reproduces the
    per-device KV lines to the MiB's two decimals. The weights lines cannot be reproduced here:
    a Q4_K_M file mixes quant types per layer, and the post does not list its tensors."""
    spec = dense_model("llama", name="command-r shapes", n_layer=40, n_embd=8192, n_head=64, n_head_kv=64,
                       head_dim=128, n_ff=22528, vocab=256000, ctx_train=131072, qtype=Q.Q4_K,
                       tied_output=True, write_vocab=False)
    f = read_facts(write_model(tmp_path / "cr.gguf", spec))
    # a newer llama.cpp prints "KV buffer size" the same way; the posted lines parse as they are
    mem = MemoryLogParser().feed_text(POSTED)
    assert mem.kv_bytes == {"CUDA0": 1536 * MiB, "CUDA1": 3584 * MiB}
    devs = gpus(FakeGpu("NVIDIA GeForce RTX 4070 Ti", 12282 * MiB, 500 * MiB), rtx_3090_ti())
    e = estimate_split(f, PlanRequest(ctx_per_slot=4096, flash_attn="off"), devs, tensor_split=[12, 29])
    assert [(d.first_layer, d.last_layer, d.output_layer) for d in e.devices] == [(0, 11, False), (12, 39, True)]
    assert {d.name: d.kv_bytes for d in e.devices} == mem.kv_bytes
    assert e.kv_bytes == 5120 * MiB
    # token_embd (Q6_K, 1640.62 MiB in the post) stays on the host; tied output: a copy on CUDA1
    assert e.devices[1].weights_bytes > e.devices[0].weights_bytes
