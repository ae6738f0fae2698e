"""`tierdeck detect`: the memory pools of this machine as llama-server sees them, and where
each number came from."""

from __future__ import annotations

import argparse
import json

from tierdeck.cli import user_settings
from tierdeck.core.hardware import detect_devices
from tierdeck.core.units import fmt_bytes

# The numbers whose origin is printed under the table, in this order.
_EXPLAINED = (("total", "total_bytes"), ("free", "free_bytes"), ("budget", "budget_bytes"),
              ("working set", "working_set_bytes"), ("device", "engine_id"),
              ("bandwidth", "bandwidth_bytes_per_s"), ("processes", "processes"))


def register(sub) -> None:
    p = sub.add_parser("detect", help="show GPUs / unified memory / RAM and the budget for models")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--reserve-mib", type=int, default=None,
        help="memory to leave free on each device (default: the setting, 1024)",
    )
    # The WSL2 NVML probe's child process in a frozen bundle (core/hardware/nvml_probe.py).
    p.add_argument("--nvml-probe", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.nvml_probe:
        from tierdeck.core.hardware.nvml_probe import child_main  # noqa: PLC0415

        return child_main()
    reserve = args.reserve_mib if args.reserve_mib is not None else user_settings().reserve_mib
    det = detect_devices(reserve)
    if args.json:
        print(json.dumps(det.to_dict(), indent=2))
        return 0
    print(render(det))
    return 0


def render(det) -> str:
    rows = [("#", "kind", "llama-server", "name", "total", "free", "budget", "source")]
    for d in det.devices:
        rows.append((
            str(d.index), d.kind, d.engine_id or "-", d.name, fmt_bytes(d.total_bytes),
            fmt_bytes(d.free_bytes), fmt_bytes(d.budget_bytes), d.source,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for d in det.devices:
        extra = []
        if d.utilization_pct is not None:
            extra.append(f"util {d.utilization_pct:.0f}%")
        if d.temperature_c is not None:
            extra.append(f"{d.temperature_c:.0f} C")
        if d.power_w is not None:
            extra.append(f"{d.power_w:.0f} W")
        if d.bandwidth_bytes_per_s:
            extra.append(f"{d.bandwidth_bytes_per_s / 1e9:.0f} GB/s")
        if d.processes:
            extra.append(f"{len(d.processes)} GPU processes")
        if d.unified:
            extra.append("unified memory (shared with the CPU)")
        if d.mig_parent_uuid:
            extra.append(f"MIG slice of {d.mig_parent_uuid}")
        if extra:
            lines.append(f"  [{d.index}] " + ", ".join(extra))
        for label, key in _EXPLAINED:
            if key in d.how:
                lines.append(f"  [{d.index}] {label}: {d.how[key]}")
        for n in d.notes:
            lines.append(f"  [{d.index}] not reported: {n}")
    lines.append(f"budget = free - reserve ({fmt_bytes(det.devices[0].reserve_bytes)})")
    lines += [f"rule: {r}" for r in det.rules]
    lines += [f"note: {n}" for n in det.notes]
    return "\n".join(lines)
