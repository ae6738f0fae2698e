"""One memory pool a model can be loaded into, and how each of its numbers was obtained."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class GpuProcess:
    pid: int  # as NVML reports it: the host's pid namespace
    used_bytes: int | None  # None: the driver would not say (e.g. Windows WDDM) or it was garbage
    # The same process in our pid namespace; None when it cannot be seen from here (a container
    # without the host's /proc). Only this pid may be matched to a server.
    local_pid: int | None = None


@dataclass
class Device:
    index: int
    kind: str  # "nvidia" | "apple" | "cpu" | "gpu" (another backend's GPU, known only to llama-server)
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
    # Identity, for matching NVML to the engine and for `llama-server --device`:
    engine_id: str | None = None  # "CUDA0", "MTL0": the name llama-server gives this device
    pci_bus_id: str | None = None
    nvml_index: int | None = None
    mig_parent_uuid: str | None = None  # set on a MIG slice: the GPU it is carved from
    unified: bool = False  # memory shared with the CPU (Apple, GB10, Jetson): not additive

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("nvidia", "apple", "gpu")

    def to_dict(self) -> dict:
        return asdict(self)


def budget(available: int, reserve: int) -> int:
    return max(0, available - reserve)
