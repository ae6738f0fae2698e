"""What the supervisor tells its subscribers, and the status snapshot it hands out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.memlog import LoadedMemory

STATES = tuple(str(s) for s in lifecycle.State)


@dataclass
class ServerStatus:
    tier: str
    profile: str
    state: str  # one of STATES
    reason: str = ""  # why crashed/failed (one line); empty otherwise
    pid: int | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    base_url: str = ""
    alias: str = ""
    command: list[str] = field(default_factory=list)
    display: str = ""  # copyable command line (API key masked)
    started_at: float | None = None  # epoch seconds
    load_progress: float | None = None  # 0..1 while loading, when measurable
    detail: str = ""  # what it is doing now: "loading model 40%", "restart 2/5 in 4 s" ...
    log_path: str = ""
    log_tail: list[str] = field(default_factory=list)
    planned_bytes: int | None = None
    loaded: LoadedMemory | None = None  # what the load log reported, once parsed
    failure: dict | None = None  # classify.Failure.to_dict() for crashed/failed
    restarts: int = 0
    adopted: bool = False  # found in the registry, started by another TierDeck process
    api_key_set: bool = False
    plan_note: str = ""  # "planned 1.2 GiB of 22 GiB on nvidia:0 ...", "does not fit: ..."
    plan_notes: list[str] = field(default_factory=list)  # the planner's own notes
    # In memory only, for scrapers of /metrics; never in to_dict(), the registry or a log.
    api_key: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.tier}"

    @property
    def running(self) -> bool:
        """A process exists or is being launched (lifecycle.active)."""
        return lifecycle.active(self.state)

    @property
    def live(self) -> bool:
        """Up or coming up: what clients and metrics may point at (lifecycle.live)."""
        return lifecycle.live(self.state)

    def to_dict(self) -> dict:
        d = asdict(replace(self, loaded=None))
        d["loaded"] = self.loaded.to_dict() if self.loaded is not None else None
        d.pop("api_key")
        return d


@dataclass(frozen=True)
class StateChanged:
    key: str
    tier: str
    profile: str
    state: str
    previous: str
    reason: str
    status: ServerStatus


@dataclass(frozen=True)
class LogLine:
    key: str
    tier: str
    profile: str
    line: str


@dataclass(frozen=True)
class Step:
    """One step of an up/switch/down, for 'stopping haiku... starting sonnet... ready'."""

    action: str  # "stop", "stopped", "start", "ready", "failed", "cancelled", "skip"
    tier: str
    profile: str
    message: str
