"""Apple Silicon unified memory: the GPU may use Metal's working set, not all of RAM.

Where each number comes from, best first:
- working set: Metal's recommendedMaxWorkingSetSize as llama-server prints it in
  `--list-devices` (engine_view.py). Metal knows the macOS version's own rule; macOS 26
  reports 107.5 GiB on a 128 GiB machine where the old rule says 96. We ask llama-server
  rather than import pyobjc's Metal binding: it is the number llama.cpp itself will use,
  it costs no new dependency, and a build that cannot see Metal (an x86_64 build under
  Rosetta lists no device, llama.cpp issue 14966) is caught by the same question.
- else `sysctl iogpu.wired_limit_mb` when the user raised it (Metal then reports exactly it);
- else the macOS 13-15 rule (2/3 of RAM up to 32 GiB, 3/4 above), stated as a fallback.
Apple Silicon is recognised by `hw.optional.arm64`, which is 1 even for an x86_64 Python
under Rosetta (platform.machine() then says x86_64); an Intel Mac has no such device.
Bandwidth depends on the chip variant: a 30-core M3 Max has 300 GB/s, the 40-core 400.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from tierdeck.core.hardware.device import Device, budget

GiB = 1024**3
MiB = 1024**2

Sysctl = Callable[[str], str | None]
GpuCores = Callable[[], int | None]

# Apple's published memory bandwidth (GB/s) by chip and, where it differs, GPU core count.
# (pattern, {gpu cores: GB/s} or GB/s); the first matching pattern wins.
_BANDWIDTH_GBPS: list[tuple[str, dict[int, float] | float]] = [
    (r"M3 Ultra", 819),
    (r"M[12] Ultra", 800),
    (r"M4 Max", {32: 410, 40: 546}),
    (r"M3 Max", {30: 300, 40: 400}),
    (r"M[12] Max", 400),
    (r"M4 Pro", 273),
    (r"M3 Pro", 150),
    (r"M[12] Pro", 200),
    (r"M5(?! (?:Pro|Max|Ultra))\b", 153),
    (r"M4\b", 120),
    (r"M[23]\b", 100),
    (r"M1\b", 68.25),
]


def run_sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def run_gpu_cores() -> int | None:
    """GPU core count from the IORegistry (the AGX accelerator's gpu-core-count)."""
    try:
        out = subprocess.run(["ioreg", "-rc", "AGXAccelerator", "-d", "1"], capture_output=True,
                             text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_gpu_cores(out)


def parse_gpu_cores(ioreg_text: str) -> int | None:
    m = re.search(r'"gpu-core-count"\s*=\s*(\d+)', ioreg_text)
    return int(m.group(1)) if m else None


def is_apple_silicon(machine: str, sysctl: Sysctl) -> bool:
    if machine in ("arm64", "aarch64"):
        return True
    return sysctl("hw.optional.arm64") == "1"  # Rosetta: machine says x86_64, the CPU is arm64


def default_working_set(memsize: int) -> int:
    """macOS 13-15's rule for recommendedMaxWorkingSetSize; only a fallback."""
    return memsize * 2 // 3 if memsize <= 32 * GiB else memsize * 3 // 4


def chip_bandwidth(chip: str, gpu_cores: int | None = None) -> tuple[float, str] | None:
    """(bytes/s, how) for the chip, or None when it is not in the table."""
    for pattern, gbps in _BANDWIDTH_GBPS:
        if not re.search(pattern, chip):
            continue
        if isinstance(gbps, dict):
            if gpu_cores in gbps:
                return gbps[gpu_cores] * 1e9, f"Apple's figure for the {gpu_cores}-core GPU variant"
            low = min(gbps)
            return gbps[low] * 1e9, (f"GPU core count unknown ({gpu_cores}): the cut-down "
                                     f"{low}-core variant's figure, the lower one")
        return gbps * 1e9, "Apple's published figure for the chip"
    return None


def read_apple(available_bytes: int, reserve_bytes: int = 0, sysctl: Sysctl = run_sysctl, *,
               metal_working_set: int | None = None, metal_name: str | None = None,
               gpu_cores: GpuCores | None = None,
               available_how: str = "RAM available to new allocations") -> Device | None:
    """`available_bytes`: RAM that new allocations can get (vm_stat, see macmem.py).

    metal_working_set / metal_name: from llama-server --list-devices when it listed Metal.
    """
    mem = sysctl("hw.memsize")
    if not mem or not mem.isdigit():
        return None
    memsize = int(mem)
    brand = sysctl("machdep.cpu.brand_string") or ""
    # Under Rosetta the brand string is "VirtualApple ..."; Metal's own name is better.
    chip = (metal_name or brand or "Apple Silicon").removesuffix(" GPU")
    how = {"total_bytes": "Metal working set (see working_set_bytes)",
           "unified_memory_bytes": f"{memsize} (sysctl hw.memsize)"}
    wired = sysctl("iogpu.wired_limit_mb")
    if metal_working_set:
        working_set = metal_working_set
        how["working_set_bytes"] = ("llama-server --list-devices: Metal "
                                    "recommendedMaxWorkingSetSize, as llama.cpp will use it")
    elif wired and wired.isdigit() and int(wired) > 0:
        working_set = int(wired) * MiB
        how["working_set_bytes"] = f"sysctl iogpu.wired_limit_mb = {wired} (raised by the user)"
    else:
        working_set = default_working_set(memsize)
        rule = "2/3" if memsize <= 32 * GiB else "3/4"
        how["working_set_bytes"] = (f"fallback rule of macOS 13-15: {rule} of unified memory "
                                    "(no Metal reading; macOS 26 allows more)")
    free = min(working_set, available_bytes)
    how["free_bytes"] = f"min(working set, {available_how})"
    how["budget_bytes"] = "free - reserve"
    cores = gpu_cores() if gpu_cores is not None else None
    bw = chip_bandwidth(chip, cores)
    if bw:
        how["bandwidth_bytes_per_s"] = bw[1]
    return Device(
        index=0,
        kind="apple",
        name=f"{chip} GPU ({working_set / GiB:.1f} GiB working set)",
        total_bytes=working_set,
        free_bytes=free,
        used_bytes=max(0, memsize - available_bytes),
        reserve_bytes=reserve_bytes,
        budget_bytes=budget(free, reserve_bytes),
        source="llama-server + vm_stat" if metal_working_set else "sysctl + vm_stat",
        how=how,
        bandwidth_bytes_per_s=bw[0] if bw else None,
        unified=True,
    )
