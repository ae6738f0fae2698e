"""One sampling round: what each server and each device looked like at time t."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tierdeck.core.metrics.slots import SlotInfo

# Server states as the sampler sees them (not the supervisor's lifecycle states).
UP = "up"  # answered /metrics
LOADING = "loading"  # answered 503: model still loading
SLOW = "slow"  # a scrape was still running when the round closed; no fresh figures
DOWN = "down"  # process gone or connection refused / timed out
ERROR = "error"  # answered, but not something we can read (401 without key, no --metrics ...)


@dataclass
class ServerSample:
    name: str
    base_url: str
    pid: int | None
    state: str
    error: str | None = None
    gen_tps: float | None = None  # generated tokens/s over the last interval
    prompt_tps: float | None = None  # prompt tokens/s over the last interval
    requests_processing: float | None = None
    requests_deferred: float | None = None
    slots_busy: int | None = None
    slots_total: int | None = None
    slots: list[SlotInfo] = field(default_factory=list)
    tokens_predicted_total: float | None = None  # counters as the server reports them
    prompt_tokens_total: float | None = None
    planned_bytes: int | None = None
    loaded_bytes: int | None = None
    gpu_bytes: int | None = None  # NVML per-process memory, summed over GPUs
    rss_bytes: int | None = None  # resident set of the server process (psutil)
    scrape_s: float | None = None  # how long /metrics + /slots took
    at: float | None = None  # monotonic time the figures were read

    @property
    def actual_bytes(self) -> int | None:
        """What the server really holds: its GPU memory if it has any, else its RSS."""
        return self.gpu_bytes if self.gpu_bytes else self.rss_bytes

    def to_dict(self) -> dict:
        d = asdict(self)
        d["actual_bytes"] = self.actual_bytes
        return d


@dataclass
class DeviceSample:
    index: int
    kind: str  # nvidia | apple | cpu
    name: str
    total_bytes: int
    used_bytes: int | None
    limit_bytes: int  # total minus the reserve: the edge the user should stay under
    utilization_pct: float | None = None
    processes: dict[int, int | None] = field(default_factory=dict)  # pid -> used bytes

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Sample:
    t: float  # wall-clock time of the round (epoch seconds)
    servers: list[ServerSample]
    devices: list[DeviceSample]
    notes: list[str] = field(default_factory=list)

    def server(self, name: str) -> ServerSample | None:
        return next((s for s in self.servers if s.name == name), None)

    def to_dict(self) -> dict:
        return {
            "t": self.t,
            "servers": [s.to_dict() for s in self.servers],
            "devices": [d.to_dict() for d in self.devices],
            "notes": list(self.notes),
        }

    def flat(self) -> dict[str, float]:
        """Series key -> value, the way MetricsStore keeps them (None becomes NaN)."""
        nan = float("nan")
        out: dict[str, float] = {}

        def put(key: str, v: float | int | None) -> None:
            out[key] = nan if v is None else float(v)

        for s in self.servers:
            p = f"srv/{series_name(s.name)}/"
            put(p + "up", 1.0 if s.state == UP else 0.0)
            put(p + "gen_tps", s.gen_tps)
            put(p + "prompt_tps", s.prompt_tps)
            put(p + "requests_processing", s.requests_processing)
            put(p + "requests_deferred", s.requests_deferred)
            put(p + "slots_busy", s.slots_busy)
            put(p + "slots_total", s.slots_total)
            put(p + "tokens_in_flight", sum(x.context_tokens for x in s.slots) if s.slots else None)
            put(p + "planned_bytes", s.planned_bytes)
            put(p + "loaded_bytes", s.loaded_bytes)
            put(p + "gpu_bytes", s.gpu_bytes)
            put(p + "rss_bytes", s.rss_bytes)
            put(p + "actual_bytes", s.actual_bytes)
        for d in self.devices:
            p = f"dev/{d.index}/"
            put(p + "used_bytes", d.used_bytes)
            put(p + "total_bytes", d.total_bytes)
            put(p + "limit_bytes", d.limit_bytes)
            put(p + "utilization_pct", d.utilization_pct)
        return out


def series_name(name: str) -> str:
    """Tier names become one path component of a series key."""
    return name.replace("/", "_") or "_"
