"""Device memory and per-process memory, read cheaply enough for 1 Hz.

NVIDIA: the process-wide NVML session (core/hardware/session.py), shared with the window's
device monitor, held for the sampler's lifetime. Apple / CPU: the static facts (memory size,
working-set limit, chip name) are read once; each round only asks for available RAM (vm_stat
on a Mac, as macOS counts it), and servers are measured by their resident set. An Intel Mac
has no Apple GPU pool; an x86_64 Python under Rosetta on Apple Silicon still has one.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import psutil

from tierdeck.core.hardware import NvidiaReader
from tierdeck.core.hardware import session as nvml_session
from tierdeck.core.hardware.apple import Sysctl, is_apple_silicon, read_apple, run_sysctl
from tierdeck.core.hardware.cpu import cpu_name, read_cpu
from tierdeck.core.hardware.device import Device
from tierdeck.core.hardware.macmem import available_from_vm_stat, run_vm_stat
from tierdeck.core.metrics.samples import DeviceSample

MemoryFn = Callable[[], tuple[int, int]]  # -> (total, available) bytes


def _psutil_memory() -> tuple[int, int]:
    vm = psutil.virtual_memory()
    return vm.total, vm.available


def _vm_stat_memory(vm_stat: Callable[[], str]) -> MemoryFn:
    def read() -> tuple[int, int]:
        total, available = _psutil_memory()
        from_vm = available_from_vm_stat(vm_stat(), total)
        return total, available if from_vm is None else from_vm
    return read


class DeviceProbe:
    def __init__(
        self,
        nvml: Any = None,
        reserve_bytes: int = 0,
        *,
        platform_name: str | None = None,
        sysctl: Sysctl | None = None,
        memory: MemoryFn | None = None,
        machine: str | None = None,
        vm_stat: Callable[[], str] | None = None,
    ):
        self.reserve_bytes = reserve_bytes
        self.notes: list[str] = []
        plat = platform_name or sys.platform
        self._sysctl_cache: dict[str, str | None] = {}
        self._sysctl = sysctl or run_sysctl
        mac = plat == "darwin" and nvml is None
        self._apple = mac and is_apple_silicon(machine or platform.machine(), self._cached_sysctl)
        if mac and memory is None:
            memory = _vm_stat_memory(vm_stat or run_vm_stat)
        self._memory = memory or _psutil_memory
        self._nvidia: NvidiaReader | None = None
        if not mac:
            reader = nvml_session.acquire(nvml)
            if not reader.available:
                if reader.error:
                    self.notes.append(reader.error)
                nvml_session.release(reader)
            else:
                self._nvidia = reader
        self._cpu_name = cpu_name()
        self._procs: dict[int, psutil.Process] = {}
        # Metal's working set as llama-server reports it; asked once (cached on disk by the
        # engine view), and only on a real Mac: injected sysctl readings describe another one.
        self._metal: tuple[int, str] | None = None
        self._metal_asked = sysctl is not None

    def close(self) -> None:
        if self._nvidia is not None:
            nvml_session.release(self._nvidia)
            self._nvidia = None

    def _cached_sysctl(self, name: str) -> str | None:
        if name not in self._sysctl_cache:
            self._sysctl_cache[name] = self._sysctl(name)
        return self._sysctl_cache[name]

    def read(self) -> list[DeviceSample]:
        total, available = self._memory()
        if self._apple:
            ws, name = self._metal_working_set() or (None, None)
            dev = read_apple(available, self.reserve_bytes, self._cached_sysctl,
                             metal_working_set=ws, metal_name=name)
            if dev is not None:
                return [_sample(dev)]
        gpus: list[Device] = []
        if self._nvidia is not None:
            gpus = self._nvidia.read(self.reserve_bytes)
        cpu = read_cpu(len(gpus), total, available, self.reserve_bytes, name=self._cpu_name)
        return [_sample(d) for d in gpus] + [_sample(cpu)]

    def _metal_working_set(self) -> tuple[int, str] | None:
        if not self._metal_asked:
            self._metal_asked = True
            from tierdeck.core.hardware.detect import find_engine_view  # noqa: PLC0415

            # Same fingerprint as HardwareSession's, so both read one cached answer.
            hw = f"memsize={self._cached_sysctl('hw.memsize')}"
            metal = find_engine_view(os.environ, hw).gpus("Metal")
            self._metal = (metal[0].total_bytes, metal[0].description) if metal else None
        return self._metal

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
        # Only pids seen in our own namespace may be matched to a server (see nvml_procs.py).
        processes={p.local_pid: p.used_bytes for p in d.processes if p.local_pid is not None},
    )
