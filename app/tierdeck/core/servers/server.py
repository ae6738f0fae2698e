"""One llama-server as the supervisor tracks it, and the status snapshot it hands out."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from tierdeck.core.profiles import Tier
from tierdeck.core.servers.classify import Failure
from tierdeck.core.servers.events import ServerStatus
from tierdeck.core.servers.logfiles import LogTail
from tierdeck.core.servers.memlog import LoadedMemory, MemoryLogParser
from tierdeck.core.servers.tierplan import plan_summary
from tierdeck.core.servers.urls import base_url


def free_port(host: str = "127.0.0.1") -> int:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def load_progress(tail: LogTail) -> float | None:
    """Share of the weights loaded. llama.cpp prints one dot per percent of tensors loaded
    (no newline until the end); context setup after the weights counts as all loaded."""
    for line in [tail.partial, *reversed(tail.lines)]:
        s = line.strip()
        if s and set(s) == {"."}:
            return min(1.0, len(s) / 100.0)
        if "llama_context" in line or "sched_reserve" in line or "warming up" in line:
            return 1.0
        if "load_tensors:" in line:
            return 0.0
    return None


@dataclass
class ManagedServer:
    key: str
    profile: str
    tier_name: str
    tier: Tier | None
    host: str
    port: int
    alias: str
    command: list[str]
    display: str
    env: dict[str, str]
    log_path: Path
    pid: int = 0
    create_time: float = 0.0
    popen: subprocess.Popen | None = None  # when this process started it
    started_at: float = 0.0
    started_mono: float = 0.0
    state: str = "stopped"  # a lifecycle.State; changed only by lifecycle.move()
    reason: str = ""
    detail: str = ""
    failure: Failure | None = None
    planned_bytes: int | None = None
    plan: dict | None = None
    loaded: LoadedMemory | None = None
    parser: MemoryLogParser | None = None
    tail: LogTail | None = None
    restarts: int = 0
    restart_at: float | None = None  # crashed/failed with a restart scheduled (monotonic)
    # Who carries out a stop while the state is "stopping": "here" (a thread of this
    # process is terminating it; the monitor keeps out) or "elsewhere" (another TierDeck
    # process is; the monitor watches for the exit).
    stop_by: str = ""
    adopted: bool = False
    owner_pid: int = 0
    load_timeout_s: float = 600.0
    api_key_set: bool = False
    ps: psutil.Process | None = None  # cached for adopted servers
    profile_path: str = ""
    retried: bool = False  # an auto port was retried once after "port in use"
    launch_id: str = ""  # registry entry and environment mark of the current launch

    @property
    def base_url(self) -> str:
        return base_url(self.host, self.port)

    def status(self, tail_lines: int = 30) -> ServerStatus:
        tail = self.tail.tail(tail_lines) if self.tail else []
        return ServerStatus(
            tier=self.tier_name, profile=self.profile, state=self.state, reason=self.reason,
            pid=self.pid or None, host=self.host, port=self.port, base_url=self.base_url,
            alias=self.alias, command=list(self.command), display=self.display,
            started_at=self.started_at or None,
            load_progress=load_progress(self.tail) if (self.state == "starting" and self.tail) else None,
            detail=self.detail, log_path=str(self.log_path), log_tail=tail,
            planned_bytes=self.planned_bytes, loaded=self.loaded,
            failure=self.failure.to_dict() if self.failure else None, restarts=self.restarts,
            adopted=self.adopted, api_key_set=self.api_key_set,
            api_key=self.tier.api_key if self.tier is not None else None,
            plan_note=plan_summary(self.plan),
            plan_notes=list((self.plan or {}).get("notes") or []),
        )
