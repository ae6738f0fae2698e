"""Device memory and per-process memory, read cheaply enough for 1 Hz.

NVIDIA: one NvidiaReader (one NVML session) for the sampler's lifetime. Apple / CPU: the
static facts (memory size, working-set limit, chip name) are read once; each round only
asks psutil for available RAM, and servers are measured by their resident set.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import psutil

from tierdeck.core.hardware import NvidiaReader
from tierdeck.core.hardware.apple import Sysctl, read_apple, run_sysctl
from tierdeck.core.hardware.cpu import cpu_name, read_cpu
from tierdeck.core.hardware.device import Device
from tierdeck.core.metrics.samples import DeviceSample

MemoryFn = Callable[[], tuple[int, int]]  # -> (total, available) bytes


def _psutil_memory() -> tuple[int, int]:
    vm = psutil.virtual_memory()
    return vm.total, vm.available


class DeviceProbe:
    def __init__(
        self,
        nvml: Any = None,
        reserve_bytes: int = 0,
        *,
        platform_name: str | None = None,
        sysctl: Sysctl | None = None,
        memory: MemoryFn | None = None,
    ):
        self.reserve_bytes = reserve_bytes
        self.notes: list[str] = []
        self._memory = memory or _psutil_memory
        plat = platform_name or sys.platform
        self._apple = plat == "darwin" and nvml is None
        self._nvidia: NvidiaReader | None = None
        if not self._apple:
            self._nvidia = NvidiaReader(nvml)
            if not self._nvidia.available:
                if self._nvidia.error:
                    self.notes.append(self._nvidia.error)
                self._nvidia = None
        self._sysctl_cache: dict[str, str | None] = {}
        self._sysctl = sysctl or run_sysctl
        self._cpu_name = cpu_name()
        self._procs: dict[int, psutil.Process] = {}

    def close(self) -> None:
        if self._nvidia is not None:
            self._nvidia.close()
            self._nvidia = None

    def _cached_sysctl(self, name: str) -> str | None:
        if name not in self._sysctl_cache:
            self._sysctl_cache[name] = self._sysctl(name)
        return self._sysctl_cache[name]

    def read(self) -> list[DeviceSample]:
        total, available = self._memory()
        if self._apple:
            dev = read_apple(available, self.reserve_bytes, self._cached_sysctl)
            if dev is not None:
                return [_sample(dev)]
        gpus: list[Device] = []
        if self._nvidia is not None:
            gpus = self._nvidia.read(self.reserve_bytes)
        cpu = read_cpu(len(gpus), total, available, self.reserve_bytes, name=self._cpu_name)
        return [_sample(d) for d in gpus] + [_sample(cpu)]

    def rss(self, pid: int | None) -> int | None:
        """Resident set of a process, or None when it is gone or not ours to read."""
        if pid is None:
            return None
        p = self._procs.get(pid)
        try:
            if p is None or not p.is_running():  # is_running also catches a recycled pid
                p = self._procs[pid] = psutil.Process(pid)
            if p.status() == psutil.STATUS_ZOMBIE:
                return None
            return int(p.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            self._procs.pop(pid, None)
            return None

    def alive(self, pid: int | None) -> bool | None:
        """False when the pid is known and its process is gone (or a zombie); None if no pid."""
        if pid is None:
            return None
        return self.rss(pid) is not None or _exists_unreadable(pid)

    def forget_except(self, pids: set[int]) -> None:
        for pid in list(self._procs):
            if pid not in pids:
                del self._procs[pid]


def _exists_unreadable(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:
        return True  # someone else's process we cannot read; it is there
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _sample(d: Device) -> DeviceSample:
    return DeviceSample(
        index=d.index,
        kind=d.kind,
        name=d.name,
        total_bytes=d.total_bytes,
        used_bytes=d.used_bytes,
        limit_bytes=max(0, d.total_bytes - d.reserve_bytes),
        utilization_pct=d.utilization_pct,
        processes={p.pid: p.used_bytes for p in d.processes},
    )
