"""The largest context that fits every device of a split, and the tensor split that gets it.

With `-sm layer` and no `-ts` from the user, the planner chooses the split: contiguous layer
ranges, in llama.cpp's device order, that keep the fullest device as empty as possible
(each device pays its compute buffer and backend overhead once, the output layer's device
pays the output weights). The split is written as per-device layer counts, which llama.cpp's
float32 split points reproduce exactly (split.counts_to_split). A split the user sets, and
`-sm row` / `none`, are planned as given.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import memory as m
from tierdeck.core.planner import split as sp
from tierdeck.core.planner.estimate import PlanRequest
from tierdeck.core.planner.fit import AUTO_CACHE_ORDER, STEP, largest_ctx
from tierdeck.core.planner.multi import SplitEstimate, estimate_split
from tierdeck.core.units import fmt_bytes


@dataclass
class SplitFit:
    best: SplitEstimate | None
    wanted: SplitEstimate  # the smallest configuration asked for (what did not fit, if best is None)
    explanation: str

    def to_dict(self) -> dict:
        return {"best": self.best.to_dict() if self.best else None,
                "wanted": self.wanted.to_dict(), "explanation": self.explanation}


def balanced_counts(f: ModelFacts, req: PlanRequest, devices: list[Device], calib=None) -> list[int]:
    """Layer counts per device (output layer included) that minimise the fullest device's share
    of its budget, at req's context. Bisection on that share; greedy contiguous fill per try."""
    probe = estimate_split(f, req, devices, "layer", [1.0] * len(devices), calib=calib)
    fixed = [s.compute_bytes for s in probe.devices]  # paid once a device holds a layer
    base = [s.overhead_bytes for s in probe.devices]  # paid by every device in the list
    one = estimate_split(f, req, devices, "layer", [1.0] + [0.0] * (len(devices) - 1), calib=calib)
    c = m.cells(f, one.ctx_total, one.parallel, req.kv_unified, req.ubatch, req.swa_full)
    kv = dict(m.kv_layer_bytes(f, c, one.type_k, one.type_v, one.flash_attn)) if one.valid else {}
    rec = dict(m.recurrent_layer_bytes(f, one.parallel))
    costs = []
    for d in devices:
        lw = sp.layer_weights(f, d.kind)
        per = [lw.layers[il] - (lw.experts[il] if il < req.n_cpu_moe else 0) + kv.get(il, 0) + rec.get(il, 0)
               for il in range(f.n_layer)]
        per.append(lw.output + (lw.embd if lw.tied_output else 0))
        costs.append(per)
    budgets = [max(d.budget_bytes, 1) for d in devices]

    def fill(u: float) -> list[int] | None:
        counts = [0] * len(devices)
        di, used = 0, base[0]
        for il in range(f.n_layer + 1):
            while di < len(devices):
                need = costs[di][il] + (fixed[di] if counts[di] == 0 else 0)
                if used + need <= u * budgets[di]:
                    used += need
                    counts[di] += 1
                    break
                di += 1
                used = base[di] if di < len(devices) else 0
            else:
                return None
        return counts

    lo, hi = 0.0, 1.0
    while fill(hi) is None and hi < 1e6:
        lo, hi = hi, hi * 2
    for _ in range(40):
        mid = (lo + hi) / 2
        if fill(mid) is None:
            lo = mid
        else:
            hi = mid
    return fill(hi) or [f.n_layer + 1] + [0] * (len(devices) - 1)


def evaluate(split_mode: str, tensor_split: list[float] | None, main_gpu: int, calib=None):
    """An evaluate(f, req, devices) for fit.largest_ctx: fixed split, or the balanced one."""
    def run(f: ModelFacts, req: PlanRequest, devices: list[Device]) -> SplitEstimate:
        ts = tensor_split
        if ts is None and split_mode == "layer" and len(devices) > 1 and req.ngl is None:
            ts = sp.counts_to_split(balanced_counts(f, req, devices, calib))
        return estimate_split(f, req, devices, split_mode, ts, main_gpu, calib)
    return run


def tier_devices(tier, devices: list[Device]) -> list[Device]:
    """The devices llama.cpp spreads a profile tier over, in its order: the tier's RPC hosts
    (profile `rpc:`), then every detected NVIDIA GPU, or those named in `devices:`.
    Fewer than two: not a split (plan it with fit_context on one device)."""
    from tierdeck.core.planner.rpc import rpc_device  # noqa: PLC0415

    if tier is None or getattr(tier, "split_mode", None) == "none":
        return []
    rpc = [rpc_device(h.endpoint, h.memory_bytes, i) for i, h in enumerate(getattr(tier, "rpc_hosts", []))]
    gpus = [d for d in devices if d.kind == "nvidia"]
    if getattr(tier, "devices", None):
        # `devices:` holds llama-server's names: the engine's own when known (hardware.select)
        gpus = [d for d in gpus if (d.engine_id or f"CUDA{d.index}") in tier.devices]
    return rpc + gpus


def plan_tier_split(tier, facts: ModelFacts, req: PlanRequest, devices: list[Device], calib=None) -> SplitFit | None:
    """For the supervisor's tier plan: the split fit when the tier spans several devices, else
    None. Its best.server_args carry -sm/-ts/-mg (multi.device_args) for cmdline.build_command."""
    devs = tier_devices(tier, devices)
    if len(devs) < 2:
        return None
    return fit_split(facts, req, devs, tier.split_mode or "layer", tier.tensor_split, tier.main_gpu or 0, calib)


def fit_split(f: ModelFacts, req: PlanRequest, devices: list[Device], split_mode: str = "layer",
              tensor_split: list[float] | None = None, main_gpu: int = 0, calib=None) -> SplitFit:
    """req.ctx_per_slot None: the largest context per slot that fits all devices; else check it."""
    ev = evaluate(split_mode, tensor_split, main_gpu, calib)
    want = max(req.min_ctx_per_slot, STEP)
    types = AUTO_CACHE_ORDER if req.type_k == "auto" else (req.type_k,)
    for tk in types:
        r = req.replace(type_k=tk, type_v=tk if req.type_v == "auto" else req.type_v)
        if req.ctx_per_slot is not None:
            e = ev(f, r, devices)
            if e.fits:
                return SplitFit(e, e, f"fits: {e.summary()}")
            continue
        best = largest_ctx(f, r, devices, want, evaluate=ev)
        if best is not None:
            return SplitFit(best, best, f"largest context per slot that fits every device: {best.summary()}")
    tk = types[-1]
    r = req.replace(type_k=tk, type_v=tk if req.type_v == "auto" else req.type_v,
                    ctx_per_slot=req.ctx_per_slot or want)
    wanted = ev(f, r, devices)
    over = [f"{d.name} {fmt_bytes(d.total_bytes - d.budget_bytes)} over" for d in wanted.devices if not d.fits]
    why = f"does not fit: {wanted.summary()}" + (f" ({'; '.join(over)})" if over else "")
    if not wanted.valid:
        why += "\ninvalid settings: " + "; ".join(n for n in wanted.notes if "refuses" in n or "multiples" in n)
    return SplitFit(None, wanted, why)
