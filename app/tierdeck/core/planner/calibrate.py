"""Plans that learn from real loads on this machine.

The supervisor appends one record per load to `app_dirs().data / "loads.jsonl"` (time,
profile, tier, model, command, planned_bytes, plan, loaded): the plan's estimate next to the
buffers llama-server reported. This module reads those records through core/servers/loads.py
(rotated files included; never writes them) and derives,
per backend (CUDA, Metal, CPU, RPC), a scale for the modelled compute buffer: the median of
reported / planned over the loads seen here. Weights and KV are exact and never adjusted.

Loads that ran out of memory raise the reserve of the device that failed: a record whose
`failure.kind` is "oom", or a server log in logs/servers/ whose lines classify as out of
memory (the supervisor records only loads that became ready). Each such load adds the
allocation that failed (at least OOM_STEP) to that device's reserve.

Nothing here applies until there is at least one real load: a fresh machine plans with the
model alone, and every adjusted number says "calibrated on N loads here".
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from tierdeck.core.servers.classify import LOADED, OOM  # the supervisor's own reading of a log
from tierdeck.core.units import MiB

OOM_STEP = 256 * MiB
SCALE_RANGE = (0.5, 4.0)  # a ratio outside this is a mismatched record, not a calibration
BACKENDS = {"nvidia": "CUDA", "apple": "Metal", "cpu": "CPU", "rpc": "RPC"}
_BACKEND = re.compile(r"^(CUDA|ROCm|Vulkan|Metal|MTL|RPC|SYCL|CPU)", re.I)
_OOM_DEVICE = re.compile(r"\b(CUDA\d+|ROCm\d+|Vulkan\d+|RPC\d+(?:\[[^\]]*\])?|Metal|MTL\d*)\b")
_OOM_SIZE = re.compile(r"(?:of size|allocate)\s+(\d+)(?:\s*bytes)?\b|([0-9.]+)\s*MiB")
_CUDA_DEVICE = re.compile(r"cuda\w*:.* on device (\d+)", re.I)


def backend_of(buffer_or_kind: str) -> str:
    """CUDA0 / CUDA_Host / RPC0[h:p] / Metal / CPU_Mapped / a Device.kind -> a backend name."""
    if buffer_or_kind in BACKENDS:
        return BACKENDS[buffer_or_kind]
    if "_Host" in buffer_or_kind or buffer_or_kind.startswith("CPU"):
        return "CPU"
    m = _BACKEND.match(buffer_or_kind)
    if not m:
        return buffer_or_kind
    b = m.group(1).upper()
    return {"MTL": "Metal", "METAL": "Metal", "ROCM": "ROCm", "VULKAN": "Vulkan"}.get(b, b)


@dataclass
class BackendFit:
    backend: str
    loads: int
    compute_scale: float
    ratios: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"calibrated on {self.loads} load{'s' if self.loads != 1 else ''} here"


@dataclass
class Calibration:
    backends: dict[str, BackendFit] = field(default_factory=dict)
    reserve_bytes: dict[str, int] = field(default_factory=dict)  # device name -> added reserve
    ooms: dict[str, int] = field(default_factory=dict)
    loads: int = 0
    skipped: int = 0  # records that could not be read or compared

    @property
    def empty(self) -> bool:
        return not self.backends and not self.reserve_bytes

    def for_backend(self, kind_or_name: str) -> BackendFit | None:
        return self.backends.get(backend_of(kind_or_name))

    def reserve_for(self, name: str) -> int:
        """Extra reserve for a device: its own OOMs plus those whose log named no device ('*')."""
        base = name.split("[")[0]
        return (self.reserve_bytes.get(name, 0) or self.reserve_bytes.get(base, 0)) + self.reserve_bytes.get("*", 0)

    def apply(self, share, device) -> None:
        """Adjust one planner.multi.DeviceShare in place (compute scale, OOM reserve)."""
        notes = []
        fit = self.for_backend(device.kind)
        if fit is not None and share.compute_bytes:
            share.compute_bytes = int(share.compute_bytes * fit.compute_scale)
            notes.append(f"compute x{fit.compute_scale:.2f}, {fit.label}")
        extra = self.reserve_for(share.name) or self.reserve_for(device.name)
        if extra:
            share.budget_bytes = max(0, share.budget_bytes - extra)
            n = (self.ooms.get(share.name.split("[")[0], 0) or self.ooms.get(device.name, 0)) + self.ooms.get("*", 0)
            notes.append(f"reserve +{extra // MiB} MiB after {n} out-of-memory load{'s' if n != 1 else ''} here")
        share.calibration = "; ".join(notes)

    def to_dict(self) -> dict:
        return {
            "loads": self.loads, "skipped": self.skipped,
            "backends": {k: {"loads": v.loads, "compute_scale": v.compute_scale, "label": v.label}
                         for k, v in self.backends.items()},
            "reserve_bytes": self.reserve_bytes, "ooms": self.ooms,
        }


def _planned_compute(plan: dict) -> dict[str, int]:
    """Planned compute bytes per backend from a record's plan (single device or split)."""
    est = (plan or {}).get("estimate") or {}
    out: dict[str, int] = {}
    if est.get("devices"):
        for d in est["devices"]:
            b = backend_of(d.get("kind", "") or d.get("name", ""))
            out[b] = out.get(b, 0) + int(d.get("compute_bytes") or 0)
    elif est.get("compute_bytes"):
        out[backend_of(est.get("device_kind", "cpu"))] = int(est["compute_bytes"])
    return out


def _reported_compute(loaded: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, b in ((loaded or {}).get("compute_bytes") or {}).items():
        if "_Host" in name:
            continue  # pinned host staging next to a GPU: not the planned device buffer
        k = backend_of(name)
        out[k] = out.get(k, 0) + int(b)
    return out


def _oom_from_lines(lines: list[str]) -> tuple[str, int] | None:
    """(device, bytes that failed) from an out-of-memory log; device 'CUDA0' etc. or '' if unnamed.
    The line naming a buffer wins ("failed to allocate CUDA1 buffer of size N"), then a
    "cudaMalloc ... on device N" line, then any out-of-memory line."""
    hits = [ln for ln in lines if OOM.search(ln)]
    if not hits:
        return None
    named = [ln for ln in hits if _OOM_DEVICE.search(ln)]
    cuda = [ln for ln in hits if _CUDA_DEVICE.search(ln)]
    line = (named or cuda or hits)[-1]
    if named:
        dev = _OOM_DEVICE.search(line).group(1).split("[")[0]
    elif cuda:
        dev = f"CUDA{_CUDA_DEVICE.search(line).group(1)}"
    else:
        dev = ""
    size = 0
    for s in _OOM_SIZE.finditer(line):
        size = int(s.group(1)) if s.group(1) else int(float(s.group(2)) * MiB)
    return dev, size


def load_calibration(data_dir: Path | None = None, logs_dir: Path | None = None) -> Calibration:
    """Read the load records (loads.jsonl and its rotated files) and server logs for OOMs.
    Missing files mean 'no calibration yet'."""
    from tierdeck.core.paths import app_dirs  # noqa: PLC0415
    from tierdeck.core.servers.loads import LOADS_FILE, read_loads  # noqa: PLC0415
    from tierdeck.core.servers.logfiles import read_tail  # noqa: PLC0415

    dirs = app_dirs() if data_dir is None or logs_dir is None else None
    data_dir = data_dir or dirs.data
    logs_dir = logs_dir or dirs.logs
    records = read_loads(Path(data_dir) / LOADS_FILE)
    # The tails only (a log may be 32 MiB); an unreadable one reads as no lines.
    logs = [read_tail(p, 200)
            for p in (sorted((Path(logs_dir) / "servers").glob("*.log*")) if logs_dir else [])]
    return calibrate(records, logs)


def calibrate(records: list[dict], server_logs: list[list[str]] = (), cal: Calibration | None = None) -> Calibration:
    """The correction from load records (and the tails of server logs, for OOMs)."""
    cal = cal or Calibration()
    ratios: dict[str, list[float]] = {}
    for r in records:
        if not isinstance(r, dict):
            cal.skipped += 1
            continue
        fail = r.get("failure") or {}
        if isinstance(fail, dict) and fail.get("kind") == "oom":
            hit = _oom_from_lines(list(fail.get("lines") or [])) or (str(fail.get("device") or ""), 0)
            _add_oom(cal, *hit)
            continue
        planned, real = _planned_compute(r.get("plan") or {}), _reported_compute(r.get("loaded") or {})
        used = False
        for backend, p in planned.items():
            q = real.get(backend)
            if p > 0 and q:
                ratio = q / p
                if SCALE_RANGE[0] <= ratio <= SCALE_RANGE[1]:
                    ratios.setdefault(backend, []).append(ratio)
                    used = True
        cal.loads += used
        cal.skipped += not used
    for backend, rs in ratios.items():
        cal.backends[backend] = BackendFit(backend, len(rs), round(statistics.median(rs), 4), rs)
    for lines in server_logs:
        if any(LOADED.search(ln) or "listening on" in ln for ln in lines[-50:]):
            continue  # this run got through loading: an OOM later is a request, not the plan
        hit = _oom_from_lines(lines)
        if hit is not None:
            _add_oom(cal, *hit)
    return cal


def _add_oom(cal: Calibration, device: str, size: int) -> None:
    key = device or "*"
    cal.ooms[key] = cal.ooms.get(key, 0) + 1
    cal.reserve_bytes[key] = cal.reserve_bytes.get(key, 0) + max(size, OOM_STEP)
