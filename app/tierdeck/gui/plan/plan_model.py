"""Turn a planner Estimate into bar segments and a verdict line (plain data, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tierdeck.core.hardware import Device
from tierdeck.core.planner import Estimate
from tierdeck.core.profiles import Tier
from tierdeck.core.units import fmt_bytes

FREE_RGB = (160, 166, 172)
ZOOM_BELOW = 0.02  # under 2% of the device, segments would be invisible slivers


@dataclass
class Segment:
    label: str
    bytes: int
    rgb: tuple[int, int, int]


@dataclass
class BarModel:
    title: str
    segments: list[Segment]
    capacity_bytes: int  # the bar's full width: device total (or what the plan needs, if more)
    budget_bytes: int | None  # where the budget line goes
    free_bytes: int
    fits: bool | None
    legend: list[str] = field(default_factory=list)
    zoomed: bool = False  # the plan is too small to see against the device: bar shows it alone


def parts_of(est: Estimate) -> list[tuple[str, int, tuple[int, int, int]]]:
    """(label, bytes, RGB) of each part of a plan, in stacking order."""
    return [
        ("weights", est.weights_bytes, (66, 133, 244)),
        ("KV cache", est.kv_bytes, (52, 168, 83)),
        ("recurrent", est.recurrent_bytes, (0, 172, 193)),
        ("compute", est.compute_bytes, (251, 188, 5)),
        ("output", est.output_bytes, (255, 112, 67)),
        ("overhead", est.overhead_bytes, (171, 71, 188)),
    ]


def bar_model(title: str, estimate: Estimate | None, device: Device | None) -> BarModel:
    segs: list[Segment] = []
    used = 0
    if estimate is not None:
        for label, n, rgb in parts_of(estimate):
            if n > 0:
                segs.append(Segment(label, n, rgb))
                used += n
    total = device.total_bytes if device is not None else 0
    budget = estimate.budget_bytes if estimate is not None else None
    if budget is None and device is not None:
        budget = device.budget_bytes
    # Free = what the budget leaves after the plan (never negative: overflow shows past the line).
    free = max(0, (budget or 0) - used)
    if free:
        segs.append(Segment("free", free, FREE_RGB))
    capacity = max(total, used + free, budget or 0, 1)
    fits = estimate.fits if estimate is not None else None
    legend = [f"{s.label} {fmt_bytes(s.bytes)}" for s in segs]
    if 0 < used < capacity * ZOOM_BELOW:
        share = 100 * used / (budget or capacity)
        return BarModel(f"{title} — zoomed: the plan is {share:.2g}% of the budget",
                        [sg for sg in segs if sg.label != "free"], used, None, free, fits,
                        legend, zoomed=True)
    return BarModel(title, segs, capacity, budget, free, fits, legend)


def verdict_text(estimate: Estimate | None) -> str:
    if estimate is None:
        return "no plan yet"
    total = estimate.total_bytes
    budget = estimate.budget_bytes
    if estimate.fits:
        return f"fits: {fmt_bytes(total)} of {fmt_bytes(budget)} budget ({fmt_bytes(budget - total)} spare)"
    return (f"does not fit: needs {fmt_bytes(total)}, budget {fmt_bytes(budget)} "
            f"— short by {fmt_bytes(total - budget)}")


def alternative_text(est: Estimate) -> str:
    tk, tv = est.type_k, est.type_v
    cache = tk if tk == tv else f"{tk}/{tv}"
    extra = f", --n-cpu-moe {est.n_cpu_moe}" if est.n_cpu_moe else ""
    return (f"{est.parallel} × {est.ctx_per_slot} tokens, KV {cache}{extra}: "
            f"{fmt_bytes(est.total_bytes)}")


TIER_RGB = ((66, 133, 244), (52, 168, 83), (251, 188, 5), (171, 71, 188), (0, 172, 193),
            (255, 112, 67))


def group_bar_model(title: str, named: list[tuple[str, Estimate]], device: Device,
                    budget_bytes: int | None = None) -> BarModel:
    """One segment per co-resident tier (its whole plan), then free, against the budget."""
    segs = [Segment(name, e.total_bytes, TIER_RGB[i % len(TIER_RGB)])
            for i, (name, e) in enumerate(named)]
    used = sum(sg.bytes for sg in segs)
    budget = budget_bytes if budget_bytes is not None else device.budget_bytes
    free = max(0, (budget or 0) - used)
    if free:
        segs.append(Segment("free", free, FREE_RGB))
    capacity = max(device.total_bytes, used + free, budget or 0, 1)
    fits = used <= (budget or 0)
    legend = [f"{sg.label} {fmt_bytes(sg.bytes)}" for sg in segs]
    if 0 < used < capacity * ZOOM_BELOW:
        share = 100 * used / (budget or capacity)
        return BarModel(f"{title} — zoomed: {share:.2g}% of the budget",
                        [sg for sg in segs if sg.label != "free"], used, None, free, fits, legend,
                        zoomed=True)
    return BarModel(title, segs, capacity, budget, free, fits, legend)


def engine_text(member: str, engine: Tier) -> str:
    """What a shared tier runs on, in plain words: "haiku shares one llama-server with
    sonnet: 3 slots, one 4096-token pool, KV f16"."""
    others = [m for m in engine.members if m != member]
    pool = (f"one {engine.ctx_per_slot}-token pool" if engine.ctx_per_slot
            else "one pool sized at start (auto)")
    kv = (f"KV {engine.cache_type_k}" if engine.cache_type_k == engine.cache_type_v
          else f"K {engine.cache_type_k} / V {engine.cache_type_v}")
    return (f"{member} shares one llama-server with {', '.join(others)}: "
            f"{engine.parallel} slots, {pool}, {kv}. This plan is that engine's, as the "
            f"supervisor starts it; the settings below are {member}'s own.")
