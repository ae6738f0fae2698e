"""Turn a planner Estimate into bar segments and a verdict line (plain data, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tierdeck.core.units import fmt_bytes

# (attribute of Estimate, label, RGB) in stacking order
PARTS = (
    ("weights_bytes", "weights", (66, 133, 244)),
    ("kv_bytes", "KV cache", (52, 168, 83)),
    ("recurrent_bytes", "recurrent", (0, 172, 193)),
    ("compute_bytes", "compute", (251, 188, 5)),
    ("output_bytes", "output", (255, 112, 67)),
    ("overhead_bytes", "overhead", (171, 71, 188)),
)
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


def bar_model(title: str, estimate: Any | None, device: Any | None) -> BarModel:
    segs: list[Segment] = []
    used = 0
    if estimate is not None:
        for attr, label, rgb in PARTS:
            n = int(getattr(estimate, attr, 0) or 0)
            if n > 0:
                segs.append(Segment(label, n, rgb))
                used += n
    total = int(getattr(device, "total_bytes", 0) or 0)
    budget = getattr(estimate, "budget_bytes", None) if estimate is not None else None
    if budget is None and device is not None:
        budget = getattr(device, "budget_bytes", None)
    # Free = what the budget leaves after the plan (never negative: overflow shows past the line).
    free = max(0, (budget or 0) - used)
    if free:
        segs.append(Segment("free", free, FREE_RGB))
    capacity = max(total, used + free, budget or 0, 1)
    fits = getattr(estimate, "fits", None) if estimate is not None else None
    legend = [f"{s.label} {fmt_bytes(s.bytes)}" for s in segs]
    if 0 < used < capacity * ZOOM_BELOW:
        share = 100 * used / (budget or capacity)
        return BarModel(f"{title} — zoomed: the plan is {share:.2g}% of the budget",
                        [sg for sg in segs if sg.label != "free"], used, None, free, fits,
                        legend, zoomed=True)
    return BarModel(title, segs, capacity, budget, free, fits, legend)


def verdict_text(estimate: Any | None) -> str:
    if estimate is None:
        return "no plan yet"
    total = getattr(estimate, "total_bytes", 0)
    budget = getattr(estimate, "budget_bytes", 0)
    if getattr(estimate, "fits", False):
        return f"fits: {fmt_bytes(total)} of {fmt_bytes(budget)} budget ({fmt_bytes(budget - total)} spare)"
    return (f"does not fit: needs {fmt_bytes(total)}, budget {fmt_bytes(budget)} "
            f"— short by {fmt_bytes(total - budget)}")


def alternative_text(est: Any) -> str:
    ctx = getattr(est, "ctx_per_slot", None)
    par = getattr(est, "parallel", None)
    tk, tv = getattr(est, "type_k", "?"), getattr(est, "type_v", "?")
    cache = tk if tk == tv else f"{tk}/{tv}"
    moe = getattr(est, "n_cpu_moe", 0)
    extra = f", --n-cpu-moe {moe}" if moe else ""
    return (f"{par} × {ctx} tokens, KV {cache}{extra}: "
            f"{fmt_bytes(getattr(est, 'total_bytes', None))}")


TIER_RGB = ((66, 133, 244), (52, 168, 83), (251, 188, 5), (171, 71, 188), (0, 172, 193),
            (255, 112, 67))


def group_bar_model(title: str, named: list[tuple[str, Any]], device: Any,
                    budget_bytes: int | None = None) -> BarModel:
    """One segment per co-resident tier (its whole plan), then free, against the budget."""
    segs = [Segment(name, int(getattr(e, "total_bytes", 0) or 0), TIER_RGB[i % len(TIER_RGB)])
            for i, (name, e) in enumerate(named)]
    used = sum(sg.bytes for sg in segs)
    budget = budget_bytes if budget_bytes is not None else getattr(device, "budget_bytes", None)
    free = max(0, (budget or 0) - used)
    if free:
        segs.append(Segment("free", free, FREE_RGB))
    capacity = max(int(getattr(device, "total_bytes", 0) or 0), used + free, budget or 0, 1)
    fits = used <= (budget or 0)
    legend = [f"{sg.label} {fmt_bytes(sg.bytes)}" for sg in segs]
    if 0 < used < capacity * ZOOM_BELOW:
        share = 100 * used / (budget or capacity)
        return BarModel(f"{title} — zoomed: {share:.2g}% of the budget",
                        [sg for sg in segs if sg.label != "free"], used, None, free, fits, legend,
                        zoomed=True)
    return BarModel(title, segs, capacity, budget, free, fits, legend)
