"""The planner against real llama-server loads (-lv 4) of tiny generated models.

Weights, KV cache, recurrent state and the output buffer are deterministic: they must match
the log exactly (the log prints MiB with two decimals, so "exactly" means to 0.01 MiB, and
the cell / layer / stream counts of each `llama_kv_cache: size` line match exactly).
The compute buffer is modelled: it must be within COMPUTE_TOL of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import (
    Q,
    deepseek2_mla,
    dense_model,
    gemma3_swa,
    moe_model,
    qwen35_hybrid,
    qwen35_moe,
    write_model,
)
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest, estimate
from tierdeck.core.planner import memory as m
from tierdeck.core.planner.estimate import MLA_KV_TYPES_DIFFER, QUANT_V_NEEDS_FA
from tierdeck.core.units import GiB

from .servers import fit_params, load_memory

MiB = 1024 * 1024
# the compute buffer model vs llama-server's reserve: relative error bound. Dense, GQA, SWA,
# per-layer and MoE shapes (2 or 8 experts used) measure within 0.5% (MLA: the replayed allocator is within 1% on
# the shape below, -4% / +5% over 40 generated shapes of 8+ heads); the gated-delta-net (hybrid) term is a fit
# that is off by up to ~30% on some (slots, ubatch) combinations of other shapes.
COMPUTE_TOL = 0.02
COMPUTE_TOL_HYBRID = 0.30
CPU = Device(0, "cpu", "test", 64 * GiB, 64 * GiB, 64 * GiB, 0, "test")


def _models(d: Path) -> dict[str, Path]:
    common = dict(n_embd=256, n_head=8, head_dim=32, n_ff=512, vocab=2000, ctx_train=8192,
                  qtype=Q.F32, qk_norm=False)
    specs = {
        "gqa": dense_model("llama", name="tiny gqa", n_layer=4, n_head_kv=2, **common),
        # deci (Nemotron-51B style) is the arch whose tensors follow a per-layer KV head array
        "perlayer": dense_model("deci", name="tiny per-layer kv", n_layer=4, n_head_kv=[2, 1, 4, 0], **common),
        "qwen3": dense_model("qwen3", name="tiny qwen3", n_layer=3, n_head_kv=2,
                             **dict(common, head_dim=64, qk_norm=True)),
        "gemma2": dense_model("gemma2", name="tiny gemma2 swa", n_layer=4, n_head_kv=2, tied_output=True,
                              post_norms=True, extra_kv={"gemma2.attention.sliding_window": 256}, **common),
        "hybrid": qwen35_hybrid(name="tiny qwen35 hybrid", n_layer=4, n_embd=128, n_head=4, n_head_kv=2,
                                head_dim=32, n_ff=256, vocab=2000, ctx_train=8192, ssm_state=64,
                                ssm_groups=4, ssm_v_heads=8),
        "moe": moe_model("qwen3moe", name="tiny moe", n_layer=2, n_embd=256, n_head=8, n_head_kv=2,
                         head_dim=32, n_expert=8, n_expert_used=2, n_ff_exp=128, vocab=2000,
                         ctx_train=8192, qtype=Q.F32),
        # 8 of 8 experts used, n_embd > 2 x expert width (as Qwen3-30B-A3B: 2048 vs 768): the
        # [n_embd, used, tokens] down-projection output stacks on top of the freed up/gate rows
        "moe8": moe_model("qwen3moe", name="tiny moe 8 used", n_layer=2, n_embd=256, n_head=8, n_head_kv=2,
                          head_dim=32, n_expert=8, n_expert_used=8, n_ff_exp=64, vocab=2000,
                          ctx_train=8192, qtype=Q.F32),
        # Qwen3.6-35B-A3B in miniature: gated delta net + attention, 8 of 8 experts, shared expert
        "hybrid_moe8": qwen35_moe(name="tiny qwen35moe", n_layer=4, n_embd=256, n_head=8, n_head_kv=2,
                                  head_dim=32, n_expert=8, n_expert_used=8, n_ff_exp=64, n_ff_shexp=64,
                                  vocab=2000, ctx_train=8192, ssm_state=64, ssm_groups=4, ssm_v_heads=8),
        # gemma3: every 6th layer full attention, so 8 layers = 7 SWA + 1 full
        "gemma3": gemma3_swa(name="tiny gemma3", n_layer=8, n_embd=256, n_head=8, n_head_kv=2, head_dim=32,
                             n_ff=512, vocab=2000, ctx_train=8192, sliding_window=256),
        # MLA in GLM-4.7-Flash proportions: latent 4x the rope part, a dense lead block, then MoE
        "mla": deepseek2_mla(name="tiny mla", n_layer=3, n_embd=256, n_head=12, q_lora_rank=128,
                             kv_lora_rank=256, rope_dim=64, qk_nope_dim=64, v_head_dim=64, n_ff=512,
                             n_expert=4, n_expert_used=2, n_expert_shared=1, n_ff_exp=128, n_dense_lead=1,
                             vocab=2000, ctx_train=8192),
    }
    return {k: write_model(d / f"{k}.gguf", m, data="random") for k, m in specs.items()}


@dataclass(frozen=True)
class Case:
    model: str
    ctx_per_slot: int
    parallel: int = 1
    unified: bool = False
    tk: str = "f16"
    tv: str = "f16"
    fa: str = "on"
    ubatch: int = 512

    @property
    def id(self) -> str:
        return (f"{self.model}-c{self.ctx_per_slot}x{self.parallel}{'u' if self.unified else 's'}-"
                f"{self.tk}-{self.tv}-fa{self.fa}-ub{self.ubatch}")

    def request(self) -> PlanRequest:
        return PlanRequest(ctx_per_slot=self.ctx_per_slot, parallel=self.parallel, kv_unified=self.unified,
                           type_k=self.tk, type_v=self.tv, flash_attn=self.fa, ubatch=self.ubatch)

    def args(self, est) -> list[str]:
        a = ["-c", str(self.ctx_per_slot if self.unified else self.ctx_per_slot * self.parallel),
             "-np", str(self.parallel), "-ctk", self.tk, "-ctv", self.tv, "-fa", self.fa,
             "-ub", str(self.ubatch), "-b", "2048"]
        return a + (["-kvu"] if self.unified else [])


CASES = [
    Case("gqa", 1024),
    Case("gqa", 1024, 2, tk="q8_0", tv="q8_0"),
    Case("gqa", 512, 4, tk="q4_0", tv="q4_0"),
    Case("gqa", 2048, 4, unified=True, fa="off"),
    Case("gqa", 1000, 3),  # -c 3000 -np 3: padded to 3 x 1024
    Case("gqa", 4096, 1, fa="off", ubatch=128),
    Case("perlayer", 1024, 2),
    Case("perlayer", 1024, 1, fa="off"),  # V rows padded to the widest layer
    Case("qwen3", 1024, 2, unified=True, tk="q8_0", tv="f16"),
    Case("gemma2", 4096),
    Case("gemma2", 2048, 2, unified=True),
    Case("gemma2", 2048, 2, tk="q8_0", tv="q8_0"),
    Case("hybrid", 1024),
    Case("hybrid", 1024, 4),
    Case("hybrid", 2048, 2, unified=True, tk="q8_0", tv="q8_0"),
    Case("moe", 1024),
    Case("moe", 2048, 2, fa="off"),
    Case("moe8", 1024),
    Case("moe8", 2048, 2, fa="off", ubatch=256),
    Case("hybrid_moe8", 1024, 2),
    Case("gemma3", 4096),  # SWA cache 768 cells: pad256(256 + 512)
    Case("gemma3", 2048, 2, tk="q8_0", tv="q8_0"),
    Case("gemma3", 2048, 2, unified=True),  # one stream keeps the window per slot: 1024 cells
    Case("gemma3", 2048, 1, fa="off"),
    Case("mla", 1024),
    Case("mla", 1024, 2, tk="q8_0", tv="q8_0"),
    Case("mla", 2048, 1, fa="off"),
    Case("mla", 1024, 2, unified=True, fa="off"),
]


@pytest.fixture(scope="module")
def loads(tmp_path_factory, llama_server_bin):
    """All llama-server runs once per module (each ~1 s on one thread)."""
    d = tmp_path_factory.mktemp("planner_models")
    models = _models(d)
    out = {}
    for c in CASES:
        f = read_facts(models[c.model])
        est = estimate(f, c.request(), CPU)
        mem, text = load_memory(llama_server_bin, models[c.model], c.args(est), d / f"{c.id}.log")
        out[c.id] = (c, f, est, mem, text)
    return out, models


def _mib(b: int) -> float:
    return round(b / MiB, 2)


def _caches(f, est, c: Case) -> list[tuple[int, float]]:
    """(cells per stream, MiB) of each cache llama.cpp creates: full attention, then SWA."""
    cells = m.cells(f, est.ctx_total, c.parallel, c.unified, c.ubatch)
    per_layer = dict(m.kv_layer_bytes(f, cells, c.tk, c.tv, est.flash_attn))
    out = []
    for swa, n in ((False, cells.n_ctx_seq), (True, cells.swa_cells)):
        layers = [lk.il for lk in f.kv_layers if lk.swa == swa]
        if layers:
            out.append((n, _mib(sum(per_layer[il] for il in layers))))
    return sorted(out)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_deterministic_components_match_exactly(loads, case):
    c, f, est, mem, text = loads[0][case.id]
    assert _mib(est.weights_bytes) == _mib(mem.model_total), text[-2000:]
    # the log rounds each cache (full / SWA) to 0.01 MiB on its own line: exact per line
    assert sorted((kc.cells, _mib(kc.size_bytes)) for kc in mem.kv_caches) == _caches(f, est, c)
    assert abs(est.kv_bytes - mem.kv_total) <= 0.005 * MiB * len(mem.kv_caches) + 1  # + parser rounding
    assert _mib(est.output_bytes) == _mib(mem.output_total)
    assert _mib(est.recurrent_bytes) == _mib(mem.recurrent_total)
    assert (est.recurrent_bytes > 0) == f.is_hybrid
    # structure of each cache: cells per stream, streams
    cells = sorted(kc.cells for kc in mem.kv_caches)
    want = sorted([est.ctx_per_slot] + ([est.swa_cells] if est.swa_cells else []))
    assert cells == want
    for kc in mem.kv_caches:
        assert kc.seqs == c.parallel and kc.streams == (1 if c.unified else c.parallel)
        assert (kc.type_k, kc.type_v) == (c.tk, c.tv)
    assert mem.n_ctx_slot == est.ctx_per_slot
    if f.n_swa:
        assert sum(kc.layers for kc in mem.kv_caches) == len(f.kv_layers)
        if est.swa_cells != est.ctx_per_slot:
            swa = next(kc for kc in mem.kv_caches if kc.cells == est.swa_cells)
            assert swa.layers == sum(1 for lk in f.kv_layers if lk.swa)
    if f.is_mla:  # K only: the latent (kv_lora_rank + rope dims) x 1 head
        assert all(kc.v_bytes == 0 for kc in mem.kv_caches)
        assert [lk.n_embd_k for lk in f.kv_layers] == [f.kv_lora_rank + f.rope_dim] * f.n_layer


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compute_within_tolerance(loads, case):
    c, f, est, mem, text = loads[0][case.id]
    real = mem.compute_total
    tol = COMPUTE_TOL_HYBRID if f.is_hybrid else COMPUTE_TOL
    assert abs(est.compute_bytes - real) <= tol * real, (
        f"compute ours {est.compute_bytes / MiB:.2f} MiB vs llama-server {real / MiB:.2f} MiB")


FP_CASES = [c for c in CASES if not c.unified]  # llama-fit-params has no --kv-unified


@pytest.mark.parametrize("case", FP_CASES, ids=[c.id for c in FP_CASES])
def test_agrees_with_llama_fit_params(loads, llama_server_bin, case):
    c, f, est, mem, _ = loads[0][case.id]
    rows = fit_params(llama_server_bin, loads[1][c.model], c.args(est))
    model, context, compute = rows["Host"]
    # fit-params rounds down to whole MiB
    assert model == int(est.weights_bytes // MiB)
    assert context == int((est.kv_bytes + est.recurrent_bytes) // MiB)
    # its dry run reserves logits for every ubatch token, unlike llama-server (one per slot)
    cells = m.cells(f, est.ctx_total, c.parallel, c.unified, c.ubatch)
    fp_like = m.compute_bytes(f, cells, c.ubatch, 2048, est.flash_attn, c.tk, logits_all=True)
    assert abs(compute * MiB - fp_like) <= 0.1 * fp_like + MiB


REFUSED = [
    (Case("mla", 1024, tk="q8_0", tv="q8_0", fa="off"), QUANT_V_NEEDS_FA, "quantized V cache requires flash_attn"),
    (Case("mla", 1024, tk="q8_0", tv="f16"), MLA_KV_TYPES_DIFFER, "does not support different K"),
]


@pytest.mark.parametrize(("case", "note", "log"), REFUSED, ids=[c.id for c, _, _ in REFUSED])
def test_flags_what_llama_server_refuses(loads, llama_server_bin, tmp_path, case, note, log):
    path = loads[1][case.model]
    est = estimate(read_facts(path), case.request(), CPU)
    assert not est.valid and note in est.notes
    with pytest.raises(AssertionError, match=log):
        load_memory(llama_server_bin, path, case.args(est), tmp_path / "refused.log")
