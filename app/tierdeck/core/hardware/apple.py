"""Apple Silicon unified memory: the GPU may use Metal's working set, not all of RAM.

The readings come from `sysctl`; tests pass a fake runner. The default working-set rule is
what Metal's recommendedMaxWorkingSetSize gives on macOS 13-15; `iogpu.wired_limit_mb`, when
the user raised it, is exactly what Metal then reports.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from tierdeck.core.hardware.device import Device, budget

GiB = 1024**3
MiB = 1024**2

Sysctl = Callable[[str], str | None]

# Memory bandwidth by chip (Apple's published figures, GB/s); the bandwidth-bound speed
# estimate needs it and macOS does not report it.
_BANDWIDTH_GBPS = [
    (r"M[1-4] Ultra", 800),
    (r"M4 Max", 546),
    (r"M[123] Max", 400),
    (r"M4 Pro", 273),
    (r"M3 Pro", 150),
    (r"M[12] Pro", 200),
    (r"M4\b", 120),
    (r"M3\b", 100),
    (r"M2\b", 100),
    (r"M1\b", 68),
]


def run_sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def default_working_set(memsize: int) -> int:
    return memsize * 2 // 3 if memsize <= 32 * GiB else memsize * 3 // 4


def chip_bandwidth(chip: str) -> float | None:
    for pattern, gbps in _BANDWIDTH_GBPS:
        if re.search(pattern, chip):
            return gbps * 1e9
    return None


def read_apple(available_bytes: int, reserve_bytes: int = 0, sysctl: Sysctl = run_sysctl) -> Device | None:
    """`available_bytes` is RAM not held by other processes (psutil's available)."""
    mem = sysctl("hw.memsize")
    if not mem or not mem.isdigit():
        return None
    memsize = int(mem)
    chip = sysctl("machdep.cpu.brand_string") or "Apple Silicon"
    wired = sysctl("iogpu.wired_limit_mb")
    how = {"total_bytes": "sysctl hw.memsize"}
    if wired and wired.isdigit() and int(wired) > 0:
        working_set = int(wired) * MiB
        how["working_set_bytes"] = f"sysctl iogpu.wired_limit_mb = {wired} (raised by the user)"
    else:
        working_set = default_working_set(memsize)
        rule = "2/3" if memsize <= 32 * GiB else "3/4"
        how["working_set_bytes"] = f"Metal default: {rule} of unified memory (iogpu.wired_limit_mb = 0)"
    free = min(working_set, available_bytes)
    how["free_bytes"] = "min(working set, RAM available to new allocations)"
    how["budget_bytes"] = "free - reserve"
    bw = chip_bandwidth(chip)
    if bw:
        how["bandwidth_bytes_per_s"] = "Apple's published figure for the chip"
    return Device(
        index=0,
        kind="apple",
        name=f"{chip} GPU ({working_set / GiB:.1f} GiB working set)",
        total_bytes=working_set,
        free_bytes=free,
        used_bytes=max(0, memsize - available_bytes),
        reserve_bytes=reserve_bytes,
        budget_bytes=budget(free, reserve_bytes),
        source="sysctl + psutil",
        how=how | {"unified_memory_bytes": str(memsize)},
        bandwidth_bytes_per_s=bw,
    )
