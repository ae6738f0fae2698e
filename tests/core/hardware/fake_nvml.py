"""A stand-in for the pynvml module: the same functions, fed from a table of readings.

Errors are real pynvml exceptions (NVMLError(code) returns the matching subclass), so the
reader's handling is the one that runs against a real driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pynvml

GiB = 1024**3
MiB = 1024**2


@dataclass
class FakeGpu:
    name: str
    total: int
    used: int
    uuid: str = "GPU-00000000"
    util: int = 0
    temp: int = 40
    power_mw: int = 30_000
    mem_clock_mhz: int = 10501
    bus_bits: int = 384
    procs: list[tuple[int, int | None]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # function name -> NVML error code


class FakeNvml:
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM
    NVMLError = pynvml.NVMLError

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None):
        self.gpus = gpus
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0

    def _check(self, fn: str, h: FakeGpu | None = None) -> None:
        if h is not None and fn in h.fail:
            raise pynvml.NVMLError(h.fail[fn])

    def nvmlInit(self):
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        return self.gpus[i]

    def nvmlDeviceGetName(self, h):
        self._check("name", h)
        return h.name

    def nvmlDeviceGetUUID(self, h):
        return h.uuid

    def nvmlDeviceGetMemoryInfo(self, h):
        self._check("memory", h)
        return SimpleNamespace(total=h.total, used=h.used, free=h.total - h.used)

    def nvmlDeviceGetUtilizationRates(self, h):
        self._check("utilization", h)
        return SimpleNamespace(gpu=h.util, memory=0)

    def nvmlDeviceGetTemperature(self, h, sensor):
        self._check("temperature", h)
        return h.temp

    def nvmlDeviceGetPowerUsage(self, h):
        self._check("power", h)
        return h.power_mw

    def nvmlDeviceGetMaxClockInfo(self, h, clock):
        self._check("clock", h)
        return h.mem_clock_mhz

    def nvmlDeviceGetMemoryBusWidth(self, h):
        self._check("bus", h)
        return h.bus_bits

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        self._check("processes", h)
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in h.procs]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h):
        self._check("processes", h)
        return []


def rtx_3090_ti(display_bytes: int = 1 * GiB, **kw) -> FakeGpu:
    return FakeGpu(
        name="NVIDIA GeForce RTX 3090 Ti",
        total=24564 * MiB,
        used=display_bytes,
        uuid="GPU-3090ti",
        **kw,
    )
