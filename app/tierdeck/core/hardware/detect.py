"""Every memory pool on this machine as llama-server will see it, GPUs first, with a budget.

`HardwareSession` is the long-lived reader (the window's device monitor keeps one): it holds
the shared NVML session and the engine's device list across refreshes. `detect_devices` is a
one-shot session for the CLI and for tests that inject readings.

Each number's origin is in Device.how; Detection.rules says which rule chose the devices
(the engine's listing, or the CUDA / Metal fallbacks when it is missing).
"""

from __future__ import annotations

import os
import platform
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tierdeck.core.hardware import session as nvml_session
from tierdeck.core.hardware.apple import (
    GpuCores,
    Sysctl,
    is_apple_silicon,
    read_apple,
    run_gpu_cores,
    run_sysctl,
)
from tierdeck.core.hardware.cpu import read_cpu
from tierdeck.core.hardware.device import Device
from tierdeck.core.hardware.engine_view import EngineView, cache_key, read_engine_view
from tierdeck.core.hardware.macmem import available_from_vm_stat, run_vm_stat
from tierdeck.core.hardware.nvidia import NvidiaReader
from tierdeck.core.hardware.select import engine_only_device, select_nvidia

MiB = 1024**2
AUTO = "auto"


@dataclass
class Detection:
    devices: list[Device]
    notes: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # which source / rule chose the devices

    def to_dict(self) -> dict:
        return {"devices": [d.to_dict() for d in self.devices], "notes": self.notes,
                "rules": self.rules}

    def default_device(self) -> Device:
        """The device a plan targets when none is named: the GPU with most budget."""
        gpus = [d for d in self.devices if d.is_gpu]
        return max(gpus, key=lambda d: d.budget_bytes) if gpus else self.devices[-1]

    def by_index(self, index: int) -> Device:
        for d in self.devices:
            if d.index == index:
                return d
        raise LookupError(f"no device {index}; have {', '.join(str(d.index) for d in self.devices)}")


def find_engine_view(env: Mapping[str, str], hardware: str = "",
                     memo: dict[str, EngineView] | None = None) -> EngineView:
    """The configured llama-server's --list-devices (cached per binary + environment).

    memo: answers already given in this session, failures included, so a binary that hangs
    is not asked again on every refresh (the disk cache keeps only real listings).
    """
    from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server  # noqa: PLC0415
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    try:
        explicit = Settings.load().llama_server
    except SettingsError:  # said by whoever shows settings (CLI warning, window dialog)
        explicit = None
    try:
        found = find_llama_server(explicit, dict(env))
    except LlamaServerNotFound as e:
        return EngineView("", error=str(e).splitlines()[0])
    binary = Path(found.path)
    try:
        key = cache_key(binary, env, hardware)
    except OSError as e:
        return EngineView(str(binary), error=f"cannot read {binary}: {e.strerror}")
    if memo is not None and key in memo:
        return memo[key]
    view = read_engine_view(binary, env, hardware=hardware)
    if memo is not None:
        memo[key] = view
    return view


class HardwareSession:
    """Keyword arguments inject readings (tests, remote snapshots); see detect_devices."""

    def __init__(self, *, nvml: Any = None, sysctl: Sysctl | None = None,
                 platform_name: str | None = None, machine: str | None = None,
                 memory: tuple[int, int] | Callable[[], tuple[int, int]] | None = None,
                 engine: EngineView | str | None = AUTO, env: Mapping[str, str] | None = None,
                 gpu_cores: GpuCores | None = None, vm_stat: Callable[[], str] | None = None):
        self.platform = platform_name or sys.platform
        self.machine = machine or platform.machine()
        self._nvml = nvml
        self._sysctl_fn = sysctl or run_sysctl
        self._sysctl_cache: dict[str, str | None] = {}
        self._memory = memory
        self._env = os.environ if env is None else env
        injected = nvml is not None or sysctl is not None
        # Injected readings describe another machine: asking this machine's binary would mix them.
        self._engine = None if (engine == AUTO and injected) else engine
        self._gpu_cores_fn = gpu_cores if gpu_cores is not None else (None if injected else run_gpu_cores)
        self._gpu_cores_cache: list[int | None] = []  # [count] once asked (an ioreg run)
        self._vm_stat = vm_stat if vm_stat is not None else (None if injected else run_vm_stat)
        self._reader: NvidiaReader | None = None
        self._caps: dict[int, tuple[int, int] | None] = {}
        self._lock = threading.Lock()  # guards _reader/_closed; never held during a read
        self._closed = False
        self._views: dict[str, EngineView] = {}

    def close(self) -> None:
        """Give the NVML session back. A detect still running elsewhere finishes without it."""
        with self._lock:
            reader, self._reader, self._closed = self._reader, None, True
        if reader is not None:
            nvml_session.release(reader)

    def __enter__(self) -> HardwareSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sysctl(self, name: str) -> str | None:
        if name not in self._sysctl_cache:  # static facts: asked once per session
            self._sysctl_cache[name] = self._sysctl_fn(name)
        return self._sysctl_cache[name]

    def gpu_cores(self) -> int | None:
        """The Apple GPU's core count, a static fact like sysctl's: asked once per session
        (the window detects every second; ioreg is a subprocess)."""
        if not self._gpu_cores_cache and self._gpu_cores_fn is not None:
            self._gpu_cores_cache.append(self._gpu_cores_fn())
        return self._gpu_cores_cache[0] if self._gpu_cores_cache else None

    def engine_view(self, hardware: str = "") -> EngineView | None:
        if self._engine == AUTO:
            return find_engine_view(self._env, hardware, self._views)  # a stat once known
        return self._engine if isinstance(self._engine, EngineView) else None

    def _host_memory(self) -> tuple[tuple[int, int], str]:
        if callable(self._memory):
            return self._memory(), "injected"
        if self._memory is not None:
            return self._memory, "injected"
        vm = psutil.virtual_memory()
        return (vm.total, vm.available), "psutil.virtual_memory().available"

    def detect(self, reserve_mib: int = 1024) -> Detection:
        reserve = reserve_mib * MiB
        (total, available), avail_how = self._host_memory()
        notes: list[str] = []
        rules: list[str] = []
        if self.platform == "darwin":
            return self._detect_mac(reserve, total, available, avail_how, notes, rules)
        devices = self._nvidia(reserve, notes, rules)
        cpu = read_cpu(len(devices), total, available, reserve)
        return Detection(_renumber(devices + [cpu]), notes, rules)

    def _nvidia(self, reserve: int, notes: list[str], rules: list[str]) -> list[Device]:
        with self._lock:
            if self._reader is None and not self._closed:
                self._reader = nvml_session.acquire(self._nvml)
            reader = self._reader
        if reader is None:
            notes.append("hardware session closed: NVML not read")
            return []
        nvml_devs, read_notes = reader.read_with_notes(reserve)
        notes += read_notes
        for d in nvml_devs:
            if d.nvml_index is not None and d.nvml_index not in self._caps:
                self._caps[d.nvml_index] = reader.compute_capability(d.nvml_index)
        view = self.engine_view(" ".join(sorted(d.uuid or d.name for d in nvml_devs)))
        chosen, sel_notes = select_nvidia(nvml_devs, view, self._env, self._caps, reserve)
        notes += sel_notes
        if view is not None and view.listed:
            seen = ", ".join(e.id for e in view.gpus()) or "no GPU (a CPU-only build): host RAM only"
            rules.append(f"devices: {view.binary} --list-devices"
                         f"{' (cached)' if view.cached else ''}: {seen}")
        elif nvml_devs:
            rules.append("devices: NVML with CUDA_VISIBLE_DEVICES / CUDA_DEVICE_ORDER applied")
        return chosen

    def _detect_mac(self, reserve: int, total: int, available: int, avail_how: str,
                    notes: list[str], rules: list[str]) -> Detection:
        if self._vm_stat is not None:
            from_vm = available_from_vm_stat(self._vm_stat(), total)
            if from_vm is not None:
                available, avail_how = from_vm, "vm_stat: total - (app + wired + compressed)"
        view = self.engine_view(f"memsize={self.sysctl('hw.memsize')}")
        if not is_apple_silicon(self.machine, self.sysctl):
            # An Intel Mac has no unified Apple GPU pool. A discrete card llama-server drives
            # through Metal (an AMD Radeon) is planned on the engine's own figures.
            cards = [engine_only_device(e, reserve) for e in (view.gpus("Metal") if view else [])]
            rules.append("Intel Mac (hw.optional.arm64 absent): no Apple GPU pool"
                         + (f"; {len(cards)} Metal card(s) from llama-server" if cards else "; host RAM only"))
            cpu = read_cpu(len(cards), total, available, reserve)
            return Detection(_renumber(cards + [cpu]), notes, rules)
        metal = view.gpus("Metal")[0] if view is not None and view.gpus("Metal") else None
        if view is not None and view.listed and metal is None:
            notes.append(f"{view.binary} lists no Metal device (an x86_64 build under Rosetta? "
                         "llama.cpp issue 14966): it will run on the CPU")
            rules.append("Apple Silicon, but the engine sees no GPU: host RAM only")
            return Detection([read_cpu(0, total, available, reserve)], notes, rules)
        apple = read_apple(available, reserve, self.sysctl,
                           metal_working_set=metal.total_bytes if metal else None,
                           metal_name=metal.description if metal else None,
                           gpu_cores=self.gpu_cores if self._gpu_cores_fn is not None else None,
                           available_how=avail_how)
        if apple is None:
            notes.append("Apple Silicon: sysctl hw.memsize unreadable; using host RAM")
            return Detection([read_cpu(0, total, available, reserve)], notes, rules)
        apple.engine_id = metal.id if metal else None
        if self.machine not in ("arm64", "aarch64"):
            notes.append("this Python runs under Rosetta (x86_64); the Mac is Apple Silicon")
        rules.append("working set: " + apple.how["working_set_bytes"])
        if view is not None and not view.listed:
            notes.append(f"llama-server's own device list unavailable ({view.error})")
        # Unified memory: the GPU pool is the RAM; listing the CPU too would count it twice.
        return Detection([apple], notes, rules)


def _renumber(devices: list[Device]) -> list[Device]:
    for i, d in enumerate(devices):
        d.index = i
    return devices


def detect_devices(
    reserve_mib: int = 1024,
    *,
    nvml: Any = None,
    sysctl: Sysctl | None = None,
    platform_name: str | None = None,
    machine: str | None = None,
    memory: tuple[int, int] | None = None,
    engine: EngineView | str | None = AUTO,
    env: Mapping[str, str] | None = None,
    gpu_cores: GpuCores | None = None,
    vm_stat: Callable[[], str] | None = None,
) -> Detection:
    """Read the hardware once. Keyword arguments inject readings (tests, remote snapshots).

    memory: (total, available) host RAM in bytes, instead of psutil.
    engine: "auto" asks the configured llama-server (unless readings are injected); an
    EngineView uses that listing; None plans without one (the stated fallback rules).
    """
    with HardwareSession(nvml=nvml, sysctl=sysctl, platform_name=platform_name, machine=machine,
                         memory=memory, engine=engine, env=env, gpu_cores=gpu_cores,
                         vm_stat=vm_stat) as s:
        return s.detect(reserve_mib)
