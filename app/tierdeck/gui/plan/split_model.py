"""One bar per device for a tier split over several (plain data, no Qt): planner.multi's
DeviceShare -> plan_model.BarModel, plus the RPC rows of the Machine box."""

from __future__ import annotations

from tierdeck.core.planner.multi import DeviceShare, SplitEstimate
from tierdeck.core.planner.rpc import is_loopback
from tierdeck.core.units import fmt_bytes
from tierdeck.gui.plan.plan_model import FREE_RGB, BarModel, Segment

_RGB = {"weights": (66, 133, 244), "KV cache": (52, 168, 83), "recurrent": (0, 172, 193),
        "compute": (251, 188, 5), "overhead": (171, 71, 188)}


def share_bar(d: DeviceShare) -> BarModel:
    parts = [("weights", d.weights_bytes), ("KV cache", d.kv_bytes), ("recurrent", d.recurrent_bytes),
             ("compute", d.compute_bytes), ("overhead", d.overhead_bytes)]
    segs = [Segment(label, n, _RGB[label]) for label, n in parts if n > 0]
    used = sum(s.bytes for s in segs)
    free = max(0, d.budget_bytes - used)
    if free:
        segs.append(Segment("free", free, FREE_RGB))
    layers = ("no layers" if not d.n_layers else
              f"layers {d.first_layer}-{d.last_layer}" if d.first_layer is not None else "output layer")
    if d.output_layer and d.first_layer is not None:
        layers += " + output"
    title = f"{d.name}" + (f" ({d.description})" if d.description and d.description != d.name else "")
    title += f": {layers}"
    if d.calibration:
        title += f" · {d.calibration}"
    legend = [f"{s.label} {fmt_bytes(s.bytes)}" for s in segs]
    return BarModel(title, segs, max(used + free, d.budget_bytes, 1), d.budget_bytes, free, d.fits, legend)


def split_bars(e: SplitEstimate) -> list[BarModel]:
    return [share_bar(d) for d in e.devices]


def split_verdict(e: SplitEstimate) -> str:
    over = [d for d in e.devices if not d.fits]
    head = f"{len(e.devices)} devices, -sm {e.split_mode} -ts {','.join(f'{x:g}' for x in e.tensor_split)}"
    if not over:
        return f"{head}: every device fits ({fmt_bytes(e.total_bytes)} of {fmt_bytes(e.budget_bytes)})"
    return f"{head}: " + "; ".join(f"{d.name} over by {fmt_bytes(d.total_bytes - d.budget_bytes)}" for d in over)


def rpc_rows(hosts) -> list[tuple[str, str]]:
    """(title, detail) per profile rpc: host for the Machine box; every row carries the warning."""
    rows = []
    for h in hosts:
        offers = fmt_bytes(h.memory_bytes) if h.memory_bytes else "memory not given (set memory:)"
        where = "loopback" if is_loopback(h.host) else "NETWORK: reachable by other machines"
        rows.append((f"RPC {h.endpoint}  (llama.cpp rpc-server)",
                     f"offers {offers} · {where} · unauthenticated, unencrypted"))
    return rows


def split_here(tier, facts, req, devices, calib):
    """Worker job: the tier's split plan (core.planner.multi_fit.plan_tier_split; None = not a
    split) with what real loads on this machine taught, and that calibration. calib None: not
    read yet, so read it here (loads.jsonl and the server logs, never on the UI thread); the
    view keeps it for the next plans of the profile. Bars then say "calibrated on N loads here"."""
    from tierdeck.core.planner.multi_fit import plan_tier_split  # noqa: PLC0415

    if calib is None:
        from tierdeck.core.planner.calibrate import load_calibration  # noqa: PLC0415

        calib = load_calibration()
    return plan_tier_split(tier, facts, req, devices, None if calib.empty else calib), calib
