"""Per-process GPU memory from NVML, read so that a wrong answer becomes "unknown".

Why this is not just pynvml.nvmlDeviceGetComputeRunningProcesses: the `_v3` entry point
fills records whose size depends on the driver (32 bytes on R535, 24 bytes on R510-530 and
R550+), while each nvidia-ml-py release decodes one fixed size. A mismatch scrambles the list
(nvitop issues 75/76: pids 0 and 4294967295 every few records; gpuopenanalytics/pynvml issue
50: pid and memory swapped), and the charts would credit memory to the wrong server.

The order of preference:
1. nvmlDeviceGetRunningProcessDetailList (R550+): versioned by the caller, no guessing.
2. The `_v3`/`_v2`/plain entry point into a buffer sized for the largest record, decoded at
   the record size the driver's symbols imply (the same rule nvitop uses: a driver with the
   confidential-computing memory call but without the detail list writes 32-byte records);
   if that decode fails the sanity check, the other size is tried.
3. Nothing sane: the pids are dropped rather than guessed, with a note.
Sanity: pid not 0 or 0xFFFFFFFF and below the kernel's pid limit, memory not above the card's total, MIG
ids either "none" (0xFFFFFFFF) or small.

Pids: NVML reports pids in the host's pid namespace. `local_pid` maps them into ours through
/proc/<pid>/status NSpid; inside a container whose /proc cannot see the host, it stays None
and the process is never attributed to a server.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tierdeck.core.hardware.device import GpuProcess

NOT_AVAILABLE = 2**64 - 1
NO_ID = 0xFFFFFFFF
_LAYOUTS = {32: "@IQIIQ", 24: "@IQII", 16: "@IQ"}  # record size -> (pid, used, gi, ci, cc)
_MODES = (("compute", "Compute", 0), ("graphics", "Graphics", 1))  # NVML_PROCESS_MODE_*
NVML_SUCCESS = 0
NVML_ERROR_INSUFFICIENT_SIZE = 7


# The kernel's hard ceiling for pids (PID_MAX_LIMIT on 64-bit). Not this namespace's
# pid_max: since Linux 6.14 a container may have a lower one than the host NVML reports from.
PID_MAX_LIMIT = 4_194_304


def has_symbol(nv: Any, name: str) -> bool:
    getter = getattr(nv, "_nvmlGetFunctionPointer", None)
    if getter is None:
        return False
    try:
        getter(name)
        return True
    except Exception:  # NVMLError_FunctionNotFound: the driver predates the call
        return False


def record_size_for_driver(nv: Any) -> tuple[str, int]:
    """(entry-point suffix, record bytes) the installed driver fills."""
    if has_symbol(nv, "nvmlDeviceGetComputeRunningProcesses_v3"):
        r535 = (has_symbol(nv, "nvmlDeviceGetConfComputeMemSizeInfo")
                and not has_symbol(nv, "nvmlDeviceGetRunningProcessDetailList"))
        return "_v3", 32 if r535 else 24
    if has_symbol(nv, "nvmlDeviceGetComputeRunningProcesses_v2"):
        return "_v2", 24
    return "", 16


def decode(raw: bytes, count: int, size: int) -> list[tuple[int, int | None, int | None]]:
    """Records as (pid, used bytes or None, gpu instance id or None)."""
    fmt = _LAYOUTS[size]
    out = []
    for i in range(count):
        fields = struct.unpack_from(fmt, raw, i * size)
        used = None if fields[1] == NOT_AVAILABLE else fields[1]
        gi = fields[2] if len(fields) > 2 else None
        out.append((fields[0], used, None if gi == NO_ID else gi))
    return out


def sane(records: list, total_bytes: int, pid_max: int) -> bool:
    for pid, used, gi in records:
        if pid in (0, NO_ID) or pid > pid_max:
            return False
        if used is not None and used > total_bytes:
            return False
        if gi is not None and gi > 64:  # MIG instance ids are small; garbage is not
            return False
    return True


class ProcessReader:
    """One per NVML session: the record-size decision is made once per driver."""

    def __init__(self, nv: Any, *, pid_max: int | None = None,
                 pid_map: Callable[[list[int]], dict[int, int | None]] | None = None):
        self._nv = nv
        self._pid_max = pid_max or PID_MAX_LIMIT
        self._pid_map = pid_map or map_host_pids
        self._detail = has_symbol(nv, "nvmlDeviceGetRunningProcessDetailList") and hasattr(
            nv, "nvmlDeviceGetRunningProcessDetailList")
        self._raw = has_symbol(nv, "nvmlDeviceGetComputeRunningProcesses")
        self._suffix, self._size = record_size_for_driver(nv) if self._raw else ("", 0)
        self.how = ("nvmlDeviceGetRunningProcessDetailList" if self._detail else
                    f"nvmlDeviceGet*RunningProcesses{self._suffix} with {self._size}-byte records"
                    if self._raw else "pynvml nvmlDeviceGet*RunningProcesses")

    def read(self, handle: Any, total_bytes: int, notes: list[str]) -> list[GpuProcess]:
        merged: dict[int, int | None] = {}
        for label, cname, mode in _MODES:
            try:
                records = self._one_mode(handle, cname, mode, total_bytes)
            except Exception as e:  # NotSupported on WSL2 / vGPU: say so, keep the device
                notes.append(f"{label} processes: {type(e).__name__}: {e}".strip())
                continue
            if records is None:
                notes.append(f"{label} processes: records failed the sanity check (pid 0 / "
                             f"4294967295 / bytes above the card) in every layout: unknown")
                continue
            for pid, used, _gi in records:
                if pid not in merged or (used or 0) > (merged[pid] or 0):
                    merged[pid] = used
        local = self._pid_map(sorted(merged))
        return [GpuProcess(pid, used, local.get(pid)) for pid, used in sorted(merged.items())]

    def _one_mode(self, h: Any, cname: str, mode: int, total: int) -> list | None:
        nv = self._nv
        if self._detail:
            version = getattr(nv, "nvmlProcessDetailList_v1", 0x1000018)
            procs = nv.nvmlDeviceGetRunningProcessDetailList(h, version, mode)
            recs = [(int(p.pid), None if p.usedGpuMemory is None else int(p.usedGpuMemory),
                     None if getattr(p, "gpuInstanceId", NO_ID) == NO_ID else p.gpuInstanceId)
                    for p in procs]
            return recs if sane(recs, total, self._pid_max) else None
        if self._raw:
            return self._raw_call(h, f"nvmlDeviceGet{cname}RunningProcesses{self._suffix}", total)
        # A stand-in without symbol lookup (tests of other features): trust its records.
        fn = getattr(nv, f"nvmlDeviceGet{cname}RunningProcesses")
        recs = [(int(p.pid), None if p.usedGpuMemory in (None, NOT_AVAILABLE)
                 else int(p.usedGpuMemory), None) for p in fn(h)]
        return recs if sane(recs, total, self._pid_max) else None

    def _raw_call(self, h: Any, symbol: str, total: int) -> list | None:
        fn = self._nv._nvmlGetFunctionPointer(symbol)
        count = ctypes.c_uint(0)
        ret = fn(h, ctypes.byref(count), None)
        if ret == NVML_SUCCESS:
            return []
        for _ in range(3):  # processes can start between the two calls
            if ret != NVML_ERROR_INSUFFICIENT_SIZE:
                raise self._nv.NVMLError(ret)
            count.value = count.value * 2 + 5
            # Sized for the largest record: a driver writing 32-byte records into a buffer
            # sized for 24 would write past its end.
            buf = ctypes.create_string_buffer(count.value * max(_LAYOUTS))
            ret = fn(h, ctypes.byref(count), buf)
            if ret == NVML_SUCCESS:
                raw = buf.raw
                sizes = [self._size] + [s for s in (24, 32) if s != self._size]
                for size in sizes:
                    recs = decode(raw, count.value, size)
                    if sane(recs, total, self._pid_max):
                        if size != self._size:
                            self._size = size  # the driver told us; keep it for this session
                        return recs
                return None
        raise self._nv.NVMLError(ret)


def map_host_pids(pids: list[int], proc: Path = Path("/proc")) -> dict[int, int | None]:
    """Host pid -> pid in our namespace (None: not visible from here)."""
    if not pids:
        return {}
    own = _nspids(proc / "self" / "status")
    if own is not None and len(own) == 1 and _is_initial_namespace(proc):
        return {p: p for p in pids}  # we live in the namespace NVML reports in
    wanted = set(pids)
    found: dict[int, int | None] = dict.fromkeys(pids)
    if own is None or len(own) == 1:
        return found  # our /proc starts at our own namespace: host pids cannot be mapped
    for status in proc.glob("[0-9]*/status"):
        ns = _nspids(status)
        if ns and ns[0] in wanted:
            found[ns[0]] = ns[-1] if len(ns) == len(own) else None
    return found


def _nspids(status: Path) -> list[int] | None:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    except (OSError, ValueError):
        return None
    return None


def _is_initial_namespace(proc: Path) -> bool:
    # Kernel threads (kthreadd is pid 2) are only visible in the initial pid namespace.
    try:
        return (proc / "2" / "status").read_text().startswith("Name:\tkthreadd")
    except OSError:
        return False
