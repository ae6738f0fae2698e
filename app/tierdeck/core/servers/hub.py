"""What the supervisor's parts share: the server table, its lock, state moves and events.

Lock order (for every module of the supervisor: hub, launcher, monitor, adoption):

  1. The supervisor lock (`Hub.lock`, an RLock guarding `servers` and every ManagedServer
     field) and the registry file lock (`Registry.locked()`, an flock) are NEVER held
     together. Registry calls happen with the supervisor lock released; what they need
     from a server is copied out under the lock first, and what they found is applied
     under the lock afterwards, re-checking the state (it may have moved meanwhile).
     flock blocks between two open files of one process, so holding both in opposite
     orders on two threads was a deadlock (issue 10).
  2. Subscriber callbacks run with no lock held: `changes()` collects the events of
     `move()` under the lock and emits them after releasing it.
  3. No network or process wait (health poll, SIGTERM wait, Popen of --help) under the
     supervisor lock. Popen of the server itself is the one exception: it is quick, and
     it must be atomic with the "was a stop requested?" check, so a stop either cancels
     the launch or sees its pid.
  4. `Hub.hw_lock` guards only the hardware session's opening and closing (`detect()`,
     `close_hardware()`): held alone, never with the supervisor lock or the registry lock,
     and released before the detection itself runs (NVML init can take seconds).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import LogLine, StateChanged, Step
from tierdeck.core.servers.lifecycle import State
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.server import ManagedServer
from tierdeck.core.settings import Settings

if TYPE_CHECKING:
    from tierdeck.core.hardware import Detection, HardwareSession

Event = StateChanged | LogLine | Step
Mover = Callable[..., None]
log = logging.getLogger("tierdeck.core.servers.supervisor")


class SupervisorError(Exception):
    """A request the supervisor cannot carry out (unknown tier, conflicting swap members)."""


class Hub:
    def __init__(self, settings: Settings, binary: Path | None, registry: Registry,
                 poll_interval_s: float, hardware: Callable[[], HardwareSession] | None = None):
        self.settings = settings
        self.binary = binary
        self.registry = registry
        self.poll_interval_s = poll_interval_s
        self.servers: dict[str, ManagedServer] = {}
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.subs: list[Callable[[Event], None]] = []
        self.closed = threading.Event()
        self.wake = threading.Event()
        # No keep-alive: an idle open connection makes llama-server slow to exit on SIGTERM.
        self.http = httpx.Client(timeout=httpx.Timeout(0.25, connect=0.25), trust_env=False,
                                 limits=httpx.Limits(max_keepalive_connections=0))
        # One hardware session for every start: NVML opened once (not per tier), the Mac's
        # static sysctl facts read once. Opened on first use, closed by close_hardware().
        self.hardware_factory = hardware
        self.hw_lock = threading.Lock()
        self._hw: HardwareSession | None = None
        self._hw_closed = False

    # ---- the one way a state changes ---------------------------------------------------
    @contextlib.contextmanager
    def changes(self) -> Iterator[Mover]:
        """`with hub.changes() as move: move(s, State.READY, detail=...)`: under the lock;
        waiters are woken and the events emitted once the lock is released."""
        events: list[Event] = []

        def mover(s: ManagedServer, to: State, detail: str | None = None,
                  reason: str | None = None) -> None:
            events.append(lifecycle.move(s, to, detail, reason))

        with self.lock:
            yield mover
            if events:
                self.cond.notify_all()
        self.emit(events)

    def emit(self, events: list[Event]) -> None:
        if not events:
            return
        with self.lock:
            subs = list(self.subs)
        for ev in events:
            for cb in subs:
                try:
                    cb(ev)
                except Exception:  # a subscriber's bug must not stop the supervisor
                    log.exception("subscriber failed on %s", type(ev).__name__)

    def step(self, step: Step, on_step: Callable[[Step], None] | None) -> None:
        if on_step is not None:
            try:
                on_step(step)
            except Exception:  # the caller's progress printer; the operation goes on
                log.exception("on_step callback failed")
        self.emit([step])

    # ---- lookups (caller holds the lock) ----------------------------------------------
    def find_one(self, tier: str, profile: str | None, active_only: bool) -> ManagedServer | None:
        matches = [s for s in self.servers.values()
                   if s.tier_name == tier and (profile is None or s.profile == profile)
                   and (not active_only or lifecycle.active(s.state) or s.restart_at is not None)]
        if not matches:
            return None
        running = [s for s in matches if lifecycle.active(s.state)]
        if len(running) > 1 and profile is None:
            raise SupervisorError(
                f"tier {tier!r} runs in several profiles ({', '.join(s.profile for s in running)}): "
                "name the profile")
        return (running or matches)[-1]

    # ---- the hardware the plans are made on --------------------------------------------
    def detect(self, reserve_mib: int) -> Detection | None:
        """This machine's devices now, read through the supervisor's one hardware session;
        None once closed (the planner then reads them on its own). Call with no lock held."""
        with self.hw_lock:
            if self._hw_closed:
                return None
            if self._hw is None:
                if self.hardware_factory is not None:
                    self._hw = self.hardware_factory()
                else:
                    from tierdeck.core.hardware import HardwareSession  # noqa: PLC0415

                    self._hw = HardwareSession()
            hw = self._hw
        return hw.detect(reserve_mib)

    def close_hardware(self) -> None:
        """Give NVML back; a detect still running finishes without it."""
        with self.hw_lock:
            hw, self._hw, self._hw_closed = self._hw, None, True
        if hw is not None:
            hw.close()

    def binary_path(self) -> Path:
        if self.binary is None:
            from tierdeck.core.servers.binary import find_llama_server  # noqa: PLC0415

            self.binary = find_llama_server(self.settings.llama_server).path
        return self.binary
