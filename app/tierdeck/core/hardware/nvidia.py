"""NVIDIA GPUs through NVML (the nvidia-ml-py distribution, imported as pynvml).

Tests pass a fake module with the same functions; on a real card this is the code that runs.
Every field is read on its own: a consumer card that answers NotSupported for power or
per-process memory still gives its memory numbers.
"""

from __future__ import annotations

from typing import Any

from tierdeck.core.hardware.device import Device, GpuProcess, budget

SOURCE = "NVML"


def _text(v: Any) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


class NvidiaReader:
    """Holds one NVML session so a 1 Hz sampler does not pay nvmlInit on every reading."""

    def __init__(self, nvml: Any = None):
        self.error: str | None = None
        self._nvml = nvml
        self._ready = False
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

    @property
    def available(self) -> bool:
        return self._ready

    def close(self) -> None:
        if self._ready:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._ready = False

    def __enter__(self) -> NvidiaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, reserve_bytes: int = 0) -> list[Device]:
        if not self._ready:
            return []
        nv = self._nvml
        try:
            count = nv.nvmlDeviceGetCount()
        except Exception as e:
            self.error = f"NVML device count failed: {_nvml_msg(e)}"
            return []
        devices = []
        for i in range(count):
            dev = self._read_one(i, reserve_bytes)
            if dev is not None:
                devices.append(dev)
        return devices

    def _read_one(self, i: int, reserve: int) -> Device | None:
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
            return None
        mem = field("memory", nv.nvmlDeviceGetMemoryInfo, h)
        if mem is None:
            # Without memory numbers the device is useless to a planner; say why, keep going.
            self.error = f"GPU {i}: " + "; ".join(notes)
            return None
        name = field("name", nv.nvmlDeviceGetName, h)
        util = field("utilization", nv.nvmlDeviceGetUtilizationRates, h)
        temp = field("temperature", nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
        power = field("power", nv.nvmlDeviceGetPowerUsage, h)
        return Device(
            index=i,
            kind="nvidia",
            name=_text(name) if name is not None else f"NVIDIA GPU {i}",
            uuid=_text(u) if (u := field("uuid", nv.nvmlDeviceGetUUID, h)) is not None else None,
            total_bytes=int(mem.total),
            free_bytes=int(mem.free),
            used_bytes=int(mem.used),
            reserve_bytes=reserve,
            budget_bytes=budget(int(mem.free), reserve),
            source=SOURCE,
            how={
                "total_bytes": "nvmlDeviceGetMemoryInfo.total",
                "free_bytes": "nvmlDeviceGetMemoryInfo.free (other processes and the display "
                "already subtracted)",
                "budget_bytes": "free - reserve",
                "bandwidth_bytes_per_s": "max memory clock x 2 (DDR) x bus width / 8",
            },
            utilization_pct=float(util.gpu) if util is not None else None,
            temperature_c=float(temp) if temp is not None else None,
            power_w=power / 1000.0 if power is not None else None,
            bandwidth_bytes_per_s=self._bandwidth(h, field),
            processes=self._processes(h, field),
            notes=notes,
        )

    def _bandwidth(self, h, field) -> float | None:
        nv = self._nvml
        clock = field("memory clock", nv.nvmlDeviceGetMaxClockInfo, h, nv.NVML_CLOCK_MEM)
        bus = field("memory bus width", nv.nvmlDeviceGetMemoryBusWidth, h)
        if not clock or not bus:
            return None
        return clock * 1e6 * 2 * bus / 8

    def _processes(self, h, field) -> list[GpuProcess]:
        nv = self._nvml
        seen: dict[int, GpuProcess] = {}
        for label, fn_name in (
            ("compute processes", "nvmlDeviceGetComputeRunningProcesses"),
            ("graphics processes", "nvmlDeviceGetGraphicsRunningProcesses"),
        ):
            fn = getattr(nv, fn_name, None)
            procs = field(label, fn, h) if fn else None
            for p in procs or []:
                used = getattr(p, "usedGpuMemory", None)
                # NVML reports NVML_VALUE_NOT_AVAILABLE (2**64-1) or None when it cannot tell.
                used = None if used is None or used >= 2**63 else int(used)
                prev = seen.get(p.pid)
                if prev is None or (used or 0) > (prev.used_bytes or 0):
                    seen[p.pid] = GpuProcess(int(p.pid), used)
        return sorted(seen.values(), key=lambda p: p.pid)


_FRIENDLY = {
    "NVMLError_LibraryNotFound": "no NVIDIA driver on this machine (libnvidia-ml not found)",
    "NVMLError_DriverNotLoaded": "the NVIDIA driver is installed but not loaded",
    "NVMLError_NoPermission": "no permission to read the GPU (NVML NoPermission)",
}


def _nvml_msg(e: Exception) -> str:
    return f"{type(e).__name__}: {e}".strip()
