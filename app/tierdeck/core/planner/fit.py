"""The choice: the largest context per slot (a multiple of 256) and the cache type that fit,
or what does not fit, by how much, and the nearest configurations that do."""

from __future__ import annotations

from dataclasses import dataclass, field

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner.estimate import Estimate, PlanRequest, _estimate
from tierdeck.core.units import fmt_bytes

STEP = 256
AUTO_CACHE_ORDER = ("f16", "q8_0", "q4_0")


@dataclass
class FitResult:
    best: Estimate | None
    shortfall_bytes: int  # 0 when best fits; else how much the smallest wanted config is over
    alternatives: list[Estimate] = field(default_factory=list)
    explanation: str = ""

    def to_dict(self) -> dict:
        return {
            "best": self.best.to_dict() if self.best else None,
            "shortfall_bytes": self.shortfall_bytes,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "explanation": self.explanation,
        }


def ctx_cap(f: ModelFacts, req: PlanRequest) -> int:
    cap = f.ctx_train if f.ctx_train > 0 else 131072
    return max(STEP, cap // STEP * STEP)


def largest_ctx(f: ModelFacts, req: PlanRequest, device, lo: int = STEP, evaluate=_estimate):
    """Binary search over multiples of 256: every component grows monotonically with context.
    evaluate(f, req, device) -> anything with .fits: one device (default) or a split."""
    cap = ctx_cap(f, req)
    lo = max(STEP, (lo + STEP - 1) // STEP * STEP)
    if lo > cap:
        return None
    first = evaluate(f, req.replace(ctx_per_slot=lo), device)
    if not first.fits:
        return None
    top = evaluate(f, req.replace(ctx_per_slot=cap), device)
    if top.fits:
        return top
    a, b = lo // STEP, cap // STEP  # a fits, b does not
    best = first
    while b - a > 1:
        mid = (a + b) // 2
        e = evaluate(f, req.replace(ctx_per_slot=mid * STEP), device)
        if e.fits:
            a, best = mid, e
        else:
            b = mid
    return best


def fit_context(facts: ModelFacts, req: PlanRequest, device: Device, calib=None) -> FitResult:
    """calib: real-load calibration (planner.calibrate) or None for the model alone."""
    if calib is not None:
        return _fit_context(facts, req, device, lambda f, r, d: _estimate(f, r, d, calib))
    return _fit_context(facts, req, device, _estimate)


def _fit_context(facts: ModelFacts, req: PlanRequest, device: Device, ev) -> FitResult:
    want = max(req.min_ctx_per_slot, STEP)
    types = AUTO_CACHE_ORDER if req.type_k == "auto" else (req.type_k,)
    for tk in types:
        tv = tk if req.type_v == "auto" else req.type_v
        r = req.replace(type_k=tk, type_v=tv)
        if req.ctx_per_slot is not None:
            e = ev(facts, r, device)
            if e.fits:
                return FitResult(e, 0, [], f"fits: {e.summary()}")
            continue
        best = largest_ctx(facts, r, device, want, evaluate=ev)
        if best is not None:
            why = f"largest context per slot that fits: {best.summary()}"
            if tk != types[0]:
                why += f" ({types[0]} cache would not reach {want})"
            return FitResult(best, 0, [], why)

    # nothing fits at the wanted context: say by how much and what would
    tk0 = types[-1]
    r0 = req.replace(type_k=tk0, type_v=tk0 if req.type_v == "auto" else req.type_v,
                     ctx_per_slot=req.ctx_per_slot or want)
    wanted = ev(facts, r0, device)
    short = max(0, wanted.total_bytes - wanted.budget_bytes)
    alts = alternatives(facts, r0, device, ev)
    lines = [f"does not fit: {wanted.summary()} - {fmt_bytes(short)} over"]
    if not wanted.valid:
        lines.append("invalid settings: " + "; ".join(n for n in wanted.notes if "refuses" in n or "multiples" in n))
    for a in alts:
        lines.append(f"fits instead: {a.summary()}" + _diff(r0, a))
    if not alts:
        lines.append("no nearby configuration fits on this device")
    return FitResult(None, short, alts, "\n".join(lines))


def _diff(r: PlanRequest, a: Estimate) -> str:
    d = []
    if a.parallel != r.parallel:
        d.append(f"-np {a.parallel}")
    if a.n_cpu_moe != r.n_cpu_moe:
        d.append(f"--n-cpu-moe {a.n_cpu_moe}")
    if a.type_k != r.type_k:
        d.append(f"-ctk {a.type_k} -ctv {a.type_v}")
    return f" ({', '.join(d)})" if d else " (smaller context)"


def alternatives(f: ModelFacts, r: PlanRequest, device: Device, ev=_estimate) -> list[Estimate]:
    out: list[Estimate] = []
    want = r.ctx_per_slot or STEP
    smaller = largest_ctx(f, r.replace(min_ctx_per_slot=0), device, evaluate=ev)
    if smaller is not None:
        out.append(smaller)
    for t in ("q8_0", "q4_0"):
        if r.type_k in (t, "q4_0"):
            continue
        rt = r.replace(type_k=t, type_v=t)
        e = largest_ctx(f, rt, device, want, evaluate=ev) or largest_ctx(f, rt, device, evaluate=ev)
        if e is not None and (smaller is None or e.ctx_per_slot > smaller.ctx_per_slot):
            out.append(e)
            break
    for p in range(r.parallel - 1, 0, -1):
        rp = r.replace(parallel=p)
        e = largest_ctx(f, rp, device, want, evaluate=ev)
        if e is not None:
            out.append(e)
            break
    if f.n_expert and device.kind == "nvidia":
        lo, hi = r.n_cpu_moe, f.n_layer
        if ev(f, r.replace(n_cpu_moe=hi), device).fits:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if ev(f, r.replace(n_cpu_moe=mid), device).fits:
                    hi = mid
                else:
                    lo = mid
            out.append(ev(f, r.replace(n_cpu_moe=hi), device))
    return out
