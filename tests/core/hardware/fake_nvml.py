"""A stand-in for the pynvml module: the same functions, fed from a table of readings.

Errors are real pynvml exceptions (NVMLError(code) returns the matching subclass), so the
reader's handling is the one that runs against a real driver.
"""

from __future__ import annotations

import ctypes
import struct
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
    pci_bus_id: str = "00000000:01:00.0"
    cc: tuple[int, int] = (8, 6)
    mig: list[FakeGpu] | None = None  # MIG mode on: these are its slices
    gi: int | None = None  # a slice's GPU instance id


NOT_AVAILABLE = 2**64 - 1


@dataclass
class FakeDriver:
    """The C side of NVML for the process calls: which symbols exist, which record it writes.

    R510-R530: `_v3` with 24-byte records, no confidential-computing call.
    R535:      `_v3` with 32-byte records, nvmlDeviceGetConfComputeMemSizeInfo present.
    R550+:     24-byte records again, plus nvmlDeviceGetRunningProcessDetailList.
    """

    record_size: int = 24
    symbols: set[str] = field(default_factory=set)

    @classmethod
    def r470(cls) -> FakeDriver:
        return cls(24, {"nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses_v2",
                        "nvmlDeviceGetGraphicsRunningProcesses_v2"})

    @classmethod
    def r525(cls) -> FakeDriver:
        return cls(24, _v3_symbols())

    @classmethod
    def r535(cls) -> FakeDriver:
        return cls(32, _v3_symbols() | {"nvmlDeviceGetConfComputeMemSizeInfo"})

    @classmethod
    def r550(cls) -> FakeDriver:
        return cls(24, _v3_symbols() | {"nvmlDeviceGetConfComputeMemSizeInfo",
                                        "nvmlDeviceGetRunningProcessDetailList"})

    def records(self, procs: list[tuple[int, int | None]]) -> bytes:
        fmt = {32: "@IQIIQ", 24: "@IQII", 16: "@IQ"}[self.record_size]
        out = b""
        for pid, used in procs:
            fields = [pid, NOT_AVAILABLE if used is None else used, 0xFFFFFFFF, 0xFFFFFFFF, 0]
            out += struct.pack(fmt, *fields[: len(fmt) - 1])
        return out


def _v3_symbols() -> set[str]:
    return {f"nvmlDeviceGet{k}RunningProcesses{v}" for k in ("Compute", "Graphics")
            for v in ("", "_v2", "_v3")}


class FakeNvml:
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM
    NVMLError = pynvml.NVMLError

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None,
                 driver: FakeDriver | None = None):
        self.gpus = gpus
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0
        self.driver = driver
        if driver is not None:
            self._nvmlGetFunctionPointer = self._function_pointer
        if driver is not None and "nvmlDeviceGetRunningProcessDetailList" in driver.symbols:
            self.nvmlDeviceGetRunningProcessDetailList = self._detail_list
        self.nvmlProcessDetailList_v1 = pynvml.nvmlProcessDetailList_v1

    def _function_pointer(self, symbol: str):
        if symbol not in self.driver.symbols:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        graphics = "Graphics" in symbol

        def c_function(h, count_ref, buf):
            if "processes" in h.fail:
                return h.fail["processes"]
            procs = [] if graphics else h.procs
            count = count_ref._obj
            if not procs:
                count.value = 0
                return pynvml.NVML_SUCCESS
            if buf is None or count.value < len(procs):
                count.value = len(procs)
                return pynvml.NVML_ERROR_INSUFFICIENT_SIZE
            data = self.driver.records(procs)
            ctypes.memmove(buf, data, len(data))
            count.value = len(procs)
            return pynvml.NVML_SUCCESS

        return c_function

    def _detail_list(self, h, version, mode):
        assert version == pynvml.nvmlProcessDetailList_v1
        procs = h.procs if mode == pynvml.NVML_PROCESS_MODE_COMPUTE else []
        return [SimpleNamespace(pid=p, usedGpuMemory=m, gpuInstanceId=0xFFFFFFFF,
                                computeInstanceId=0xFFFFFFFF, usedGpuCcProtectedMemory=0)
                for p, m in procs]

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

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=h.pci_bus_id.encode())

    def nvmlDeviceGetCudaComputeCapability(self, h):
        return h.cc

    def nvmlDeviceGetMigMode(self, h):
        if h.mig is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return [1, 1]

    def nvmlDeviceGetMaxMigDeviceCount(self, h):
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h, k):
        if k >= len(h.mig):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return h.mig[k]

    def nvmlDeviceGetGpuInstanceId(self, h):
        return h.gi

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
