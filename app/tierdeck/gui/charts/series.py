"""Which store series go on which chart, with labels and styles (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1024**3

# Charts, top to bottom.
TOKENS, MEMORY, SLOTS, UTIL = "tokens", "memory", "slots", "util"
CHARTS = {
    TOKENS: ("Tokens/s", "t/s"),
    MEMORY: ("Memory", "GiB"),
    SLOTS: ("Busy slots", "slots"),
    UTIL: ("GPU utilization", "%"),
}

# A tier keeps its colour on every chart; colour-blind-safe order (Okabe-Ito).
PALETTE = [
    (0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167),
    (86, 180, 233), (213, 94, 0), (240, 228, 66),
]
DEVICE_COLOR = (150, 150, 150)
LIMIT_COLOR = (220, 50, 47)


@dataclass(frozen=True)
class Curve:
    key: str  # store series key
    chart: str
    label: str
    owner: str  # tier name or "dev/<i>": picks the colour
    style: str = "solid"  # solid | dash | line (a horizontal line at the newest value)
    scale: float = 1.0  # value x scale = what is drawn (bytes -> GiB)
    width: float = 1.0  # wider pens are several times slower to paint without OpenGL


def curves_for(keys: list[str], device_kinds: dict[str, str] | None = None) -> list[Curve]:
    """The curves to draw for the series present in the store.

    device_kinds: device index -> nvidia | apple | cpu (from the newest sample). When a GPU is
    present, host RAM is left off the memory chart: its scale would flatten the GPU's edge.
    """
    kinds = device_kinds or {}
    has_gpu = any(k in ("nvidia", "apple") for k in kinds.values())
    out: list[Curve] = []
    for key in sorted(keys):
        parts = key.split("/")
        if len(parts) != 3:
            continue
        scope, name, field = parts
        if scope == "srv":
            out += _server_curves(key, name, field)
        elif scope == "dev":
            kind = kinds.get(name)
            if has_gpu and kind == "cpu":
                continue
            out += _device_curves(key, f"dev/{name}", _device_label(name, kind), field)
    return out


def _device_label(index: str, kind: str | None) -> str:
    return {"nvidia": f"GPU {index}", "apple": "unified memory", "cpu": "RAM"}.get(
        kind or "", f"device {index}")


def _server_curves(key: str, name: str, field: str) -> list[Curve]:
    if field == "gen_tps":
        return [Curve(key, TOKENS, f"{name} gen", name)]
    if field == "prompt_tps":
        return [Curve(key, TOKENS, f"{name} prompt", name, "dash")]
    if field == "actual_bytes":
        return [Curve(key, MEMORY, f"{name} actual", name, scale=1 / GiB)]
    if field == "planned_bytes":
        return [Curve(key, MEMORY, f"{name} planned", name, "line", scale=1 / GiB)]
    if field == "slots_busy":
        return [Curve(key, SLOTS, f"{name} busy", name)]
    return []


def _device_curves(key: str, owner: str, label: str, field: str) -> list[Curve]:
    if field == "used_bytes":
        return [Curve(key, MEMORY, f"{label} used", owner, scale=1 / GiB)]
    if field == "limit_bytes":
        return [Curve(key, MEMORY, f"{label} limit", owner, "line", scale=1 / GiB)]
    if field == "utilization_pct":
        return [Curve(key, UTIL, label, owner)]
    return []


def fmt_value(curve: Curve, v: float) -> str:
    drawn = v * curve.scale
    if curve.chart == MEMORY:
        return f"{drawn:.2f} GiB"
    if curve.chart == TOKENS:
        return f"{drawn:.1f} t/s"
    if curve.chart == UTIL:
        return f"{drawn:.0f}%"
    return f"{drawn:.0f}"
