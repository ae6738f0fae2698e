"""Plain-text rendering of a Sample: the table `tierdeck top` prints."""

from __future__ import annotations

import time

from tierdeck.core.metrics.samples import UP, Sample, ServerSample
from tierdeck.core.units import fmt_bytes


def _num(v: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def _bytes(v: int | None) -> str:
    return "-" if v is None else fmt_bytes(v)


def _slots(s: ServerSample) -> str:
    if s.slots_busy is None:
        return "-"
    return f"{s.slots_busy}/{s.slots_total}" if s.slots_total is not None else str(s.slots_busy)


def _in_flight(s: ServerSample) -> str:
    busy = [x for x in s.slots if x.processing]
    if not busy:
        return "-" if s.state != UP else "0"
    return " ".join(f"#{x.id}:{x.context_tokens}" for x in busy)


def render_table(sample: Sample) -> str:
    head = ("tier", "state", "gen t/s", "prompt t/s", "slots", "reqs", "deferred",
            "in flight (slot:tokens)", "memory", "planned", "loaded")
    rows = [head]
    for s in sample.servers:
        rows.append((
            s.name,
            s.state,
            _num(s.gen_tps),
            _num(s.prompt_tps),
            _slots(s),
            _num(s.requests_processing, "{:.0f}"),
            _num(s.requests_deferred, "{:.0f}"),
            _in_flight(s),
            _bytes(s.actual_bytes),
            _bytes(s.planned_bytes),
            _bytes(s.loaded_bytes),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [time.strftime("%H:%M:%S", time.localtime(sample.t))]
    if len(rows) == 1:
        lines.append("no servers running (start tiers with `tierdeck up PROFILE`, or watch one with --url NAME=URL)")
    else:
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    for s in sample.servers:
        if s.error:
            lines.append(f"  {s.name}: {s.error}")
    lines.append("")
    for d in sample.devices:
        used = "-" if d.used_bytes is None else fmt_bytes(d.used_bytes)
        util = "" if d.utilization_pct is None else f", util {d.utilization_pct:.0f}%"
        lines.append(f"[{d.index}] {d.name} ({d.kind}): used {used} of {fmt_bytes(d.total_bytes)}, "
                     f"limit {fmt_bytes(d.limit_bytes)}{util}")
        for s in sample.servers:
            if s.pid is not None and s.pid in d.processes and d.processes[s.pid] is not None:
                lines.append(f"      {s.name} (pid {s.pid}): {fmt_bytes(d.processes[s.pid])}")
    lines += [f"note: {n}" for n in dict.fromkeys(sample.notes)]
    return "\n".join(lines)
