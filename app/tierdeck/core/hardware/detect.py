"""Every memory pool on this machine, GPUs first, with a budget for each."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from typing import Any

import psutil

from tierdeck.core.hardware.apple import Sysctl, read_apple, run_sysctl
from tierdeck.core.hardware.cpu import read_cpu
from tierdeck.core.hardware.device import Device
from tierdeck.core.hardware.nvidia import NvidiaReader

MiB = 1024**2


@dataclass
class Detection:
    devices: list[Device]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"devices": [d.to_dict() for d in self.devices], "notes": self.notes}

    def default_device(self) -> Device:
        """The device a plan targets when none is named: the GPU with most budget."""
        gpus = [d for d in self.devices if d.is_gpu]
        return max(gpus, key=lambda d: d.budget_bytes) if gpus else self.devices[-1]

    def by_index(self, index: int) -> Device:
        for d in self.devices:
            if d.index == index:
                return d
        raise LookupError(f"no device {index}; have {', '.join(str(d.index) for d in self.devices)}")


def detect_devices(
    reserve_mib: int = 1024,
    *,
    nvml: Any = None,
    sysctl: Sysctl | None = None,
    platform_name: str | None = None,
    machine: str | None = None,
    memory: tuple[int, int] | None = None,
) -> Detection:
    """Read the hardware. Keyword arguments inject readings (tests, remote snapshots).

    memory: (total, available) host RAM in bytes, instead of psutil.
    """
    reserve = reserve_mib * MiB
    plat = platform_name or sys.platform
    arch = machine or platform.machine()
    if memory is None:
        vm = psutil.virtual_memory()
        memory = (vm.total, vm.available)
    total, available = memory
    notes: list[str] = []
    devices: list[Device] = []

    if plat == "darwin" and arch in ("arm64", "aarch64"):
        apple = read_apple(available, reserve, sysctl or run_sysctl)
        if apple is not None:
            # Unified memory: the GPU pool is the RAM; listing the CPU too would count it twice.
            return Detection([apple], notes)
        notes.append("Apple Silicon: sysctl hw.memsize unreadable; using host RAM")
    elif plat != "darwin" or nvml is not None:
        with NvidiaReader(nvml) as reader:
            devices = reader.read(reserve)
            if reader.error:
                notes.append(reader.error)

    devices.append(read_cpu(len(devices), total, available, reserve))
    return Detection(devices, notes)
