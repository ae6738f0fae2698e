"""One memory pool a model can be loaded into, and how each of its numbers was obtained."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class GpuProcess:
    pid: int
    used_bytes: int | None  # None: the driver would not say (e.g. Windows WDDM)


@dataclass
class Device:
    index: int
    kind: str  # "nvidia" | "apple" | "cpu"
    name: str
    total_bytes: int
    free_bytes: int
    budget_bytes: int  # what a plan may use: free minus the reserve
    reserve_bytes: int
    source: str  # where the readings came from, e.g. "NVML"
    how: dict[str, str] = field(default_factory=dict)  # number -> how it was obtained
    used_bytes: int | None = None
    uuid: str | None = None
    utilization_pct: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    bandwidth_bytes_per_s: float | None = None  # for the bandwidth-bound speed estimate
    processes: list[GpuProcess] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # fields the hardware would not report

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("nvidia", "apple")

    def to_dict(self) -> dict:
        return asdict(self)


def budget(available: int, reserve: int) -> int:
    return max(0, available - reserve)
