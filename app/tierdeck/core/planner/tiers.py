"""Several tiers on one device: co-resident (every server pays its own weights) or swapped
(one server at a time, so only the largest must fit)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner.estimate import Estimate, PlanRequest, _estimate
from tierdeck.core.planner.fit import fit_context
from tierdeck.core.units import fmt_bytes


@dataclass
class MultiPlan:
    mode: str  # "co-resident" | "swap" | "none"
    estimates: list[Estimate]  # one per tier, in the mode chosen (co-resident sizes when both fit)
    co_resident_bytes: int
    swap_bytes: int
    budget_bytes: int
    explanation: str
    swap_estimates: list[Estimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "estimates": [e.to_dict() for e in self.estimates],
            "swap_estimates": [e.to_dict() for e in self.swap_estimates],
            "co_resident_bytes": self.co_resident_bytes,
            "swap_bytes": self.swap_bytes,
            "budget_bytes": self.budget_bytes,
            "explanation": self.explanation,
            "notes": self.notes,
        }


def _with_budget(device: Device, budget: int) -> Device:
    from dataclasses import replace  # noqa: PLC0415

    return replace(device, budget_bytes=max(0, budget))


def _plan(tiers: list[tuple[ModelFacts, PlanRequest]], device: Device) -> list[Estimate] | None:
    """Fixed-context tiers first; tiers asking for 'as much as fits' share what is left."""
    fixed = [(i, f, r) for i, (f, r) in enumerate(tiers) if r.ctx_per_slot is not None]
    auto = [(i, f, r) for i, (f, r) in enumerate(tiers) if r.ctx_per_slot is None]
    res: dict[int, Estimate] = {}
    used = 0
    for i, f, r in fixed:
        e = _estimate(f, r, device)
        res[i] = e
        used += e.total_bytes
    left = device.budget_bytes - used
    for k, (i, f, r) in enumerate(auto):
        share = left // (len(auto) - k)
        fr = fit_context(f, r, _with_budget(device, share))
        if fr.best is None:
            return None
        res[i] = fr.best
        left -= fr.best.total_bytes
    return [res[i] for i in range(len(tiers))]


def plan_tiers(tiers: list[tuple[ModelFacts, PlanRequest]], device: Device) -> MultiPlan:
    budget = device.budget_bytes
    notes: list[str] = []
    co = _plan(tiers, device)
    co_total = sum(e.total_bytes for e in co) if co else 0
    swap = []
    for f, r in tiers:
        if r.ctx_per_slot is None:
            fr = fit_context(f, r, device)
            swap.append(fr.best or _estimate(f, r.replace(ctx_per_slot=max(r.min_ctx_per_slot, 256)), device))
        else:
            swap.append(_estimate(f, r, device))
    swap_total = max((e.total_bytes for e in swap), default=0)
    same = len({f.path for f, _ in tiers}) == 1 and len(tiers) > 1
    if same:
        notes.append("all tiers use the same GGUF: co-resident servers each map and pay its weights "
                     "on the GPU; with swap only one is loaded at a time")
    if co is not None and all(e.fits for e in co) and co_total <= budget:
        return MultiPlan("co-resident", co, co_total, swap_total, budget,
                         f"co-resident: all {len(tiers)} tiers together need {fmt_bytes(co_total)} "
                         f"of {fmt_bytes(budget)}", swap, notes)
    if all(e.fits for e in swap):
        why = (f"swap: together they would need {fmt_bytes(co_total or sum(e.total_bytes for e in swap))}, "
               f"more than {fmt_bytes(budget)}; one at a time the largest needs {fmt_bytes(swap_total)}")
        return MultiPlan("swap", swap, co_total, swap_total, budget, why, swap, notes)
    bad = [i for i, e in enumerate(swap) if not e.fits]
    return MultiPlan("none", swap, co_total, swap_total, budget,
                     f"tier(s) {', '.join(str(i) for i in bad)} do not fit even alone", swap, notes)
