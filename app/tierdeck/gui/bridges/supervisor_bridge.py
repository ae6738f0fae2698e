"""The Qt side of tierdeck.core.servers.supervisor.Supervisor.

Supervisor calls block (up/switch/down wait for the load or the stop) and its subscriber
callbacks run on its worker threads. This bridge runs the calls on a TaskRunner (operations on
its long pool, status reads on its quick pool) and re-emits the callbacks as queued signals, so
every widget update happens on the UI thread. Status is re-read on every slow clock tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from tierdeck.core.profiles import Profile
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import LogLine, ServerStatus, StateChanged, Step
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import Task, TaskRunner

if TYPE_CHECKING:
    from tierdeck.core.servers.supervisor import Supervisor

Event = StateChanged | LogLine | Step

log = logging.getLogger("tierdeck.gui.bridge")


class SupervisorBridge(QObject):
    event = Signal(object)  # any supervisor event (StateChanged, LogLine, ...), on the UI thread
    statuses_changed = Signal(object)  # dict "profile/tier" -> ServerStatus
    op_started = Signal(str, str)  # operation, tier ("" = all)
    op_finished = Signal(str, str)
    op_failed = Signal(str, str, str)  # operation, tier, one-line message
    _from_worker = Signal(object)

    def __init__(self, supervisor: Supervisor, runner: TaskRunner, clock: UiClock | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.sup = supervisor
        self.runner = runner
        self.statuses: dict[str, ServerStatus] = {}  # "profile/tier" -> status
        self.busy: dict[str, Task] = {}  # tier -> running operation
        self._status_pending = False
        self._status_again = False
        self.forward_log_lines = False
        self._from_worker.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = supervisor.subscribe(self._forward)
        self.clock = clock or UiClock.shared()
        self.clock.slow.connect(self.refresh)
        self._ticking = True
        self.refresh()

    # ---- events and status -------------------------------------------------------------
    def _forward(self, ev: Event) -> None:
        """Runs on a supervisor thread. Log lines stay there: the log view tails the file,
        and a load can print thousands of lines the UI thread need not wake up for."""
        if self.forward_log_lines or not isinstance(ev, LogLine):
            self._from_worker.emit(ev)

    def _on_event(self, ev: Event) -> None:
        self.event.emit(ev)
        if not isinstance(ev, LogLine):
            self.refresh()

    def refresh(self) -> None:
        """Read sup.status() off the UI thread; coalesces bursts of requests into one read."""
        if self._status_pending:
            self._status_again = True
            return
        self._status_pending = True
        self.runner.submit("status", self.sup.status, on_done=self._got_status,
                           on_error=self._status_failed)

    def _got_status(self, statuses: list[ServerStatus]) -> None:
        self._status_pending = False
        self.statuses = {f"{s.profile}/{s.tier}": s for s in statuses}
        self.statuses_changed.emit(self.statuses)
        if self._status_again:
            self._status_again = False
            self.refresh()

    def _status_failed(self, msg: str) -> None:
        self._status_pending = False
        log.warning("status failed: %s", msg)

    def profile_statuses(self, profile: str) -> dict[str, ServerStatus]:
        """tier -> ServerStatus for one profile."""
        return {s.tier: s for s in self.statuses.values() if s.profile == profile}

    def running(self, profile: str | None = None) -> list[str]:
        """Keys ("profile/tier") of servers that are up or loading."""
        return [k for k, s in self.statuses.items()
                if lifecycle.active(s.state)
                and (profile is None or s.profile == profile)]

    # ---- operations -------------------------------------------------------------------
    def _op(self, op: str, tier: str, fn: Callable[..., object], *args: Any,
            then: Callable[[], None] | None = None) -> Task:
        self.op_started.emit(op, tier)

        def done(_r: object) -> None:
            self.busy.pop(tier, None)
            self.op_finished.emit(op, tier)
            self.refresh()

        def failed(msg: str) -> None:
            self.busy.pop(tier, None)
            self.op_failed.emit(op, tier, msg)
            self.refresh()

        task = self.runner.submit(f"{op} {tier}", fn, *args, on_done=done, on_error=failed,
                                  on_finished=then, long=True)
        self.busy[tier] = task
        self.refresh()
        return task

    def start(self, profile: Profile, tier: str) -> Task:
        return self._op("start", tier, self.sup.up, profile, [tier])

    def switch(self, profile: Profile, tier: str) -> Task:
        return self._op("switch", tier, self.sup.switch, profile, tier)

    def activate(self, profile: Profile, tier: str) -> Task:
        """One click: start the tier; the supervisor stops its swap partner first."""
        name = profile.name
        others = [k for k in self.running(name) if k != f"{name}/{tier}"]
        if others:
            return self.switch(profile, tier)
        return self.start(profile, tier)

    def stop(self, tier: str | None = None, profile: str | None = None,
             then: Callable[[], None] | None = None) -> Task:
        """Stop one tier (also cancels its load) or, with None, every server; then() runs
        on the UI thread once it has finished, either way."""
        return self._op("stop", tier or "", self.sup.down, tier, profile, then=then)

    def is_busy(self, tier: str) -> bool:
        return tier in self.busy

    def close(self) -> None:
        if self._ticking:
            self.clock.slow.disconnect(self.refresh)
            self._ticking = False
        if self._unsubscribe:
            try:
                self._unsubscribe()
            except Exception:
                log.exception("unsubscribe failed")
            self._unsubscribe = None
