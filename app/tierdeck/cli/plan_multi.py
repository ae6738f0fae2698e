"""`tierdeck plan` across several devices: `--budget 24GiB,12GiB`, `--device 0,1`, `--rpc`.

Parsing the device list and printing one row per device; the planning is
core/planner/multi.py and multi_fit.py.
"""

from __future__ import annotations

import json

from tierdeck.cli import CliError
from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest
from tierdeck.core.planner.multi import RPC_NOTE, SplitEstimate, order_devices
from tierdeck.core.planner.multi_fit import SplitFit, fit_split
from tierdeck.core.planner.split import parse_split
from tierdeck.core.units import fmt_bytes, parse_size


def budget_devices(text: str, kind: str) -> list[Device]:
    """'24GiB,12GiB' -> one device per size (CUDA0, CUDA1 ... for nvidia)."""
    out = []
    for i, part in enumerate(p.strip() for p in text.split(",")):
        try:
            b = parse_size(part)
        except ValueError as e:
            raise CliError(f"--budget: {e}") from None
        name = f"CUDA{i}" if kind == "nvidia" else f"{kind}{i}"
        out.append(Device(index=i, kind=kind, name=name, total_bytes=b, free_bytes=b, budget_bytes=b,
                          reserve_bytes=0, source="--budget"))
    return out


def rpc_devices(text: str) -> list[Device]:
    """'127.0.0.1:50052=8GiB,127.0.0.1:50053=4GiB': rpc-server endpoints and what each offers."""
    out = []
    for i, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        ep, sep, size = part.rpartition("=")
        if not sep or ":" not in ep:
            raise CliError(f"--rpc: expected HOST:PORT=SIZE (e.g. 127.0.0.1:50052=8GiB), got {part!r}")
        try:
            b = parse_size(size)
        except ValueError as e:
            raise CliError(f"--rpc {part}: {e}") from None
        out.append(Device(index=i, kind="rpc", name=ep, total_bytes=b, free_bytes=b, budget_bytes=b,
                          reserve_bytes=0, source="rpc-server", notes=[RPC_NOTE]))
    return out


def split_options(args) -> tuple[str, list[float] | None, int]:
    ts = None
    if args.tensor_split:
        try:
            ts = parse_split(args.tensor_split)
        except ValueError as e:
            raise CliError(f"--tensor-split: {e}") from None
    return args.split_mode, ts, args.main_gpu


def plan_split(f: ModelFacts, req: PlanRequest, devices: list[Device], args, calib) -> tuple[SplitEstimate, SplitFit]:
    mode, ts, main = split_options(args)
    devices = order_devices(devices)
    if ts is not None and len(ts) != len(devices):
        raise CliError(f"--tensor-split has {len(ts)} proportions for {len(devices)} devices")
    try:
        fr = fit_split(f, req, devices, mode, ts, main, calib)
    except ValueError as e:
        raise CliError(str(e)) from None
    return (fr.best or fr.wanted), fr


def print_split(f: ModelFacts, e: SplitEstimate, fr: SplitFit, as_json: bool, calib) -> int:
    if as_json:
        d = e.to_dict()
        d["model"] = f.to_dict(tensors=False)
        d["explanation"] = fr.explanation
        d["calibration"] = calib.to_dict() if calib is not None else None
        print(json.dumps(d, indent=2))
    else:
        print(render_split(f, e, fr))
    return 0 if e.fits else 1


def render_split(f: ModelFacts, e: SplitEstimate, fr: SplitFit) -> str:
    lines = [
        f"model    {f.name or f.path}  ({f.arch}, {f.n_layer} layers + output, {fmt_bytes(f.weights_bytes)})",
        f"devices  {len(e.devices)}, split mode {e.split_mode}, tensor split {','.join(f'{x:g}' for x in e.tensor_split)}",
        f"settings llama-server {' '.join(e.server_args)}",
        f"context  {e.ctx_per_slot} tokens per slot x {e.parallel} slot(s) (-c {e.ctx_total})",
        "",
    ]
    head = ("device", "layers", "weights", "KV", "compute", "overhead", "total", "budget", "")
    rows = [head]
    for d in e.devices:
        lay = "-" if not d.n_layers else f"{d.first_layer}-{d.last_layer}" + ("+out" if d.output_layer else "")
        if d.output_layer and d.first_layer is None:
            lay = "out"
        rows.append((f"{d.index} {d.name}", lay, fmt_bytes(d.weights_bytes), fmt_bytes(d.kv_bytes + d.recurrent_bytes),
                     fmt_bytes(d.compute_bytes), fmt_bytes(d.overhead_bytes), fmt_bytes(d.total_bytes),
                     fmt_bytes(d.budget_bytes), "fits" if d.fits else "OVER"))
    rows.append(("total", "", fmt_bytes(e.weights_bytes), fmt_bytes(e.kv_bytes + e.recurrent_bytes),
                 fmt_bytes(e.compute_bytes), fmt_bytes(e.overhead_bytes), fmt_bytes(e.total_bytes),
                 fmt_bytes(e.budget_bytes), "FITS" if e.fits else "DOES NOT FIT"))
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w[i]) if i < 2 or i == 8 else c.rjust(w[i])
                                      for i, c in enumerate(r)).rstrip())
    lines.append(f"  host RAM: {fmt_bytes(e.host_bytes)} (input layer, logits buffer, layers not offloaded)")
    for d in e.devices:
        if d.calibration:
            lines.append(f"  {d.name}: {d.calibration}")
    if not e.fits:
        lines += ["", *fr.explanation.splitlines()]
    lines += [""] + [f"note: {n}" for n in e.notes]
    return "\n".join(lines)
