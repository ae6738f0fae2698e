"""NVIDIA GPUs through NVML (the nvidia-ml-py distribution, imported as pynvml).

Tests pass a fake module with the same functions; on a real card this is the code that runs.
Every field is read on its own: a consumer card that answers NotSupported for power or
per-process memory still gives its memory numbers.

Devices come out in NVML order (PCI bus order); which of them llama-server sees, and under
which CUDA number, is decided in select.py. Three shapes besides a plain discrete GPU:
- unified memory (DGX Spark GB10, Jetson): both memory-info calls answer NotSupported; the
  GPU allocates from system RAM, so it is budgeted from MemAvailable, as llama.cpp's CUDA
  backend does for integrated devices (/proc/meminfo);
- MIG: a GPU in MIG mode is not usable whole; each slice is a device with its own memory;
- NVML itself unusable (no driver, WSL2 without the library): an error note, no devices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tierdeck.core.hardware.device import Device, budget
from tierdeck.core.hardware.nvml_procs import ProcessReader

SOURCE = "NVML"
MemInfo = Callable[[], tuple[int, int]]  # -> (MemTotal, MemAvailable) bytes


def _text(v: Any) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def read_meminfo(path: str = "/proc/meminfo") -> tuple[int, int]:
    vals = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                vals[key] = int(rest.split()[0]) * 1024
    return vals["MemTotal"], vals["MemAvailable"]


class NvidiaReader:
    """Holds one NVML session: the window and the sampler read through it for their lifetime.

    nvmlInit on a GPU without persistence mode sets the card up again (seconds); a reader
    is opened once and read many times.
    """

    def __init__(self, nvml: Any = None, meminfo: MemInfo = read_meminfo):
        self.error: str | None = None
        self._nvml = nvml
        self._ready = False
        self._meminfo = meminfo
        self._lock = threading.Lock()  # the monitor's and the sampler's threads share a reader
        self._errors: list[str] = []  # problems of the read in progress (under _lock)
        self.procs: ProcessReader | None = None
        if self._nvml is None:
            try:
                import pynvml  # noqa: PLC0415 - optional at run time: no driver, no NVML

                self._nvml = pynvml
            except ImportError as e:
                self.error = f"nvidia-ml-py not installed ({e})"
                return
        try:
            self._nvml.nvmlInit()
            self._ready = True
        except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.error = f"NVML unavailable: {_FRIENDLY.get(type(e).__name__, _nvml_msg(e))}"
            return
        self.procs = ProcessReader(self._nvml)

    @classmethod
    def unavailable(cls, why: str) -> NvidiaReader:
        """A reader that never loaded NVML (the WSL2 probe said it is not safe)."""
        r = cls.__new__(cls)
        r.error, r._nvml, r._ready, r.procs = why, None, False, None
        r._meminfo, r._lock, r._errors = read_meminfo, threading.Lock(), []
        return r

    @property
    def available(self) -> bool:
        return self._ready

    def close(self) -> None:
        with self._lock:  # waits for a read in flight on another thread (a quick one)
            if self._ready:
                try:
                    self._nvml.nvmlShutdown()
                except Exception:  # a lost GPU may refuse; the session is over either way
                    pass
                self._ready = False

    def __enter__(self) -> NvidiaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, reserve_bytes: int = 0) -> list[Device]:
        return self.read_with_notes(reserve_bytes)[0]

    def read_with_notes(self, reserve_bytes: int = 0) -> tuple[list[Device], list[str]]:
        """Devices, and this read's problems (a GPU skipped and why); `error` keeps them too."""
        with self._lock:
            if not self._ready:
                return [], [self.error] if self.error else []
            self._errors = []
            devices = self._read(reserve_bytes)
            self.error = "; ".join(self._errors) or None
            return devices, list(self._errors)

    def _read(self, reserve_bytes: int) -> list[Device]:
        if not self._ready:
            return []
        nv = self._nvml
        try:
            count = nv.nvmlDeviceGetCount()
        except Exception as e:
            self._errors.append(f"NVML device count failed: {_nvml_msg(e)}")
            return []
        devices: list[Device] = []
        for i in range(count):
            devices += self._read_one(i, reserve_bytes)
        return devices

    def _read_one(self, i: int, reserve: int) -> list[Device]:
        nv = self._nvml
        notes: list[str] = []

        def field(label: str, fn, *args):
            try:
                return fn(*args)
            except Exception as e:
                notes.append(f"{label}: {_nvml_msg(e)}")
                return None

        h = field("handle", nv.nvmlDeviceGetHandleByIndex, i)
        if h is None:
            self._errors.append(f"GPU {i}: " + "; ".join(notes))
            return []
        mig = field("MIG mode", nv.nvmlDeviceGetMigMode, h) if hasattr(nv, "nvmlDeviceGetMigMode") else None
        if mig is not None and mig[0] == 1:
            return self._mig_slices(i, h, reserve)
        notes.clear()  # MIG NotSupported is the normal answer of a consumer card
        dev = self._device(i, h, reserve, notes, field)
        return [dev] if dev is not None else []

    def _device(self, i: int, h: Any, reserve: int, notes: list[str], field) -> Device | None:
        nv = self._nvml
        name = field("name", nv.nvmlDeviceGetName, h)
        name = _text(name) if name is not None else f"NVIDIA GPU {i}"
        mem = field("memory", nv.nvmlDeviceGetMemoryInfo, h)
        how = {
            "total_bytes": "nvmlDeviceGetMemoryInfo.total",
            "free_bytes": "nvmlDeviceGetMemoryInfo.free (other processes and the display "
            "already subtracted)",
            "budget_bytes": "free - reserve",
            "bandwidth_bytes_per_s": "max memory clock x 2 (DDR) x bus width / 8",
        }
        unified = False
        if mem is not None:
            total, free, used = int(mem.total), int(mem.free), int(mem.used)
        elif notes and "NotSupported" in notes[-1]:
            # GB10 / Jetson: no dedicated memory. The GPU allocates from system RAM.
            notes.pop()
            try:
                total, free = self._meminfo()
            except (OSError, KeyError, ValueError) as e:
                self._errors.append(f"GPU {i} ({name}): unified memory, and /proc/meminfo unreadable: {e}")
                return None
            used, unified = total - free, True
            how["total_bytes"] = "unified memory: /proc/meminfo MemTotal (NVML memory info NotSupported)"
            how["free_bytes"] = "unified memory: /proc/meminfo MemAvailable, as llama.cpp's CUDA backend reads it"
        else:
            # Without memory numbers the device is useless to a planner; say why, keep going.
            self._errors.append(f"GPU {i}: " + "; ".join(notes))
            return None
        util = field("utilization", nv.nvmlDeviceGetUtilizationRates, h)
        temp = field("temperature", nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
        power = field("power", nv.nvmlDeviceGetPowerUsage, h)
        pci = field("PCI info", nv.nvmlDeviceGetPciInfo, h) if hasattr(nv, "nvmlDeviceGetPciInfo") else None
        uuid = field("uuid", nv.nvmlDeviceGetUUID, h)
        procs = self.procs.read(h, total, notes) if self.procs is not None else []
        if self.procs is not None:
            how["processes"] = self.procs.how
        return Device(
            index=i, kind="nvidia", name=name,
            uuid=_text(uuid) if uuid is not None else None,
            total_bytes=total, free_bytes=free, used_bytes=used,
            reserve_bytes=reserve, budget_bytes=budget(free, reserve),
            source=SOURCE, how=how,
            utilization_pct=float(util.gpu) if util is not None else None,
            temperature_c=float(temp) if temp is not None else None,
            power_w=power / 1000.0 if power is not None else None,
            bandwidth_bytes_per_s=self._bandwidth(h, field),
            processes=procs, notes=notes,
            pci_bus_id=_text(pci.busId) if pci is not None else None,
            nvml_index=i, unified=unified,
        )

    def _mig_slices(self, i: int, parent: Any, reserve: int) -> list[Device]:
        nv = self._nvml
        parent_uuid = _text(nv.nvmlDeviceGetUUID(parent))
        pci = nv.nvmlDeviceGetPciInfo(parent) if hasattr(nv, "nvmlDeviceGetPciInfo") else None
        out = []
        for k in range(nv.nvmlDeviceGetMaxMigDeviceCount(parent)):
            try:
                h = nv.nvmlDeviceGetMigDeviceHandleByIndex(parent, k)
            except Exception:  # NotFound: this slot holds no instance
                continue
            notes: list[str] = []

            def field(label: str, fn, *args, _notes=notes):
                try:
                    return fn(*args)
                except Exception as e:
                    _notes.append(f"{label}: {_nvml_msg(e)}")
                    return None

            dev = self._device(i, h, reserve, notes, field)
            if dev is None:
                continue
            dev.mig_parent_uuid = parent_uuid
            dev.pci_bus_id = _text(pci.busId) if pci is not None else None
            gi = field("GPU instance id", nv.nvmlDeviceGetGpuInstanceId, h) if hasattr(
                nv, "nvmlDeviceGetGpuInstanceId") else None
            dev.how["mig_gpu_instance"] = str(gi)
            dev.how["total_bytes"] = "nvmlDeviceGetMemoryInfo of the MIG device (its slice only)"
            # A slice answers NotSupported for what only the whole card has; that is not a fault.
            dev.notes = [n for n in dev.notes if not n.startswith(_WHOLE_CARD_ONLY)]
            out.append(dev)
        return out

    def compute_capability(self, h_index: int) -> tuple[int, int] | None:
        if not self._ready:
            return None
        try:
            h = self._nvml.nvmlDeviceGetHandleByIndex(h_index)
            major, minor = self._nvml.nvmlDeviceGetCudaComputeCapability(h)
            return int(major), int(minor)
        except Exception:  # old driver: FASTEST_FIRST is then approximated by PCI order
            return None

    def _bandwidth(self, h, field) -> float | None:
        nv = self._nvml
        clock = field("memory clock", nv.nvmlDeviceGetMaxClockInfo, h, nv.NVML_CLOCK_MEM)
        bus = field("memory bus width", nv.nvmlDeviceGetMemoryBusWidth, h)
        if not clock or not bus:
            return None
        return clock * 1e6 * 2 * bus / 8


_WHOLE_CARD_ONLY = ("utilization", "power", "temperature", "PCI info", "memory clock",
                    "memory bus width")

_FRIENDLY = {
    "NVMLError_LibraryNotFound": "no NVIDIA driver on this machine (libnvidia-ml not found)",
    "NVMLError_DriverNotLoaded": "the NVIDIA driver is installed but not loaded",
    "NVMLError_NoPermission": "no permission to read the GPU (NVML NoPermission)",
}


def _nvml_msg(e: Exception) -> str:
    return f"{type(e).__name__}: {e}".strip()
