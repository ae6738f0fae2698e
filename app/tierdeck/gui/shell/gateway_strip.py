"""The gateway strip: its URL to copy, an on/off switch, requests/s and queue, and whether it
outlives the window.

A GatewayWatch polls the gateway on its own thread; snapshots reach the UI thread through a
queued signal and are re-emitted as `snapshot` for the cards, the Clients tab and the
charts. Starting and stopping run on the window's TaskRunner, in its long pool, so a slow
start never delays the window's status and log reads, and quitting never waits on the UI
thread for the gateway to stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from tierdeck.core.gateway.watch import GatewaySnapshot, GatewayWatch
from tierdeck.core.profiles import Profile
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.shell.fonts import bold
from tierdeck.gui.shell.gateway_model import StripModel, strip_model


def _start(profile_name: str):
    from tierdeck.core.gateway import control  # noqa: PLC0415 - the gateway branch's module

    return control.start_detached(profile_name)


def _stop() -> bool:
    from tierdeck.core.gateway import control  # noqa: PLC0415

    return control.stop_gateway()


class GatewayStrip(QFrame):
    snapshot = Signal(object)  # GatewaySnapshot, on the UI thread
    message = Signal(str, int)
    keep_running_changed = Signal(bool)
    _from_worker = Signal(object)

    def __init__(self, runner: TaskRunner, *, keep_running: bool = False,
                 watch: GatewayWatch | None = None, start_fn: Callable[[str], object] = _start,
                 stop_fn: Callable[[], bool] = _stop, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("GatewayStrip")
        self.watch = watch or GatewayWatch()
        self.start_fn, self.stop_fn = start_fn, stop_fn
        self.runner = runner  # start/stop go to its long pool
        self.profile: Profile | None = None
        self.latest: GatewaySnapshot | None = None
        self.model: StripModel = strip_model(None)
        self._op: str | None = None  # "start" | "stop" while one runs
        self.started_pid: int | None = None  # the gateway this window started, if any
        self._watch_stopping = False  # the watch was told to stop (at quit)
        self._after_op: Callable[[], None] | None = None  # release() waiting for an op to end
        self._then: Callable[[], None] | None = None  # release()'s callback
        self._unsub: Callable[[], None] | None = None
        self._from_worker.connect(self._on_snapshot, Qt.ConnectionType.QueuedConnection)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        title = QLabel("Gateway")
        bold(title)
        self.switch = QPushButton("Turn on")
        self.switch.setCheckable(True)
        self.switch.setToolTip("Start or stop the gateway: one URL for every tier of the profile")
        self.switch.clicked.connect(self._switch_clicked)
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setMinimumWidth(190)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the gateway URL (ANTHROPIC_BASE_URL)")
        self.copy_button.clicked.connect(self.copy_url)
        self.state = QLabel()
        self.rates = QLabel()
        self.keep = QCheckBox("Keep running when the window closes")
        self.keep.setChecked(keep_running)
        self.keep.toggled.connect(self.keep_running_changed)
        for w in (title, self.switch, self.url, self.copy_button, self.state):
            lay.addWidget(w)
        lay.addStretch(1)
        lay.addWidget(self.rates)
        lay.addWidget(self.keep)
        self._render()

    # --- feeding -----------------------------------------------------------------------
    def start_watching(self) -> None:
        if self._unsub is None:
            self._unsub = self.watch.subscribe(self._from_worker.emit)
            self.watch.start()

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self._render()

    def _on_snapshot(self, snap: GatewaySnapshot) -> None:
        self.latest = snap
        self._render()
        self.snapshot.emit(snap)

    def _render(self) -> None:
        m = self.model = strip_model(self.latest, self.profile.name if self.profile else None)
        if self.url.text() != m.url:
            self.url.setText(m.url)
        self.state.setText(m.state)
        self.state.setToolTip(m.state)
        self.rates.setText(m.rates)
        busy = self._op is not None
        self.switch.setEnabled(not busy and not self._watch_stopping
                               and (m.running or self.profile is not None))
        self.switch.setChecked(m.running if not busy else self._op == "start")
        self.switch.setText({"start": "Starting…", "stop": "Stopping…"}.get(
            self._op or "", "Turn off" if m.running else "Turn on"))

    # --- actions -----------------------------------------------------------------------
    def _switch_clicked(self, on: bool) -> None:
        if on:
            self.turn_on()
        else:
            self.turn_off()

    def turn_on(self) -> None:
        if self._op is not None or self.profile is None or self._watch_stopping:
            return
        self._run("start", self.start_fn, self.profile.name)

    def turn_off(self) -> None:
        if self._op is None and not self._watch_stopping:
            self._run("stop", self.stop_fn)

    def _run(self, op: str, fn: Callable, *args) -> None:
        self._op = op
        self._render()
        self.runner.submit(
            f"gateway {op}", fn, *args, long=True,
            on_done=lambda r: self._op_done(op, r),
            on_error=lambda e: self.message.emit(f"gateway {op} failed: {e}", 15000),
            on_finished=self._op_finished)

    def _op_done(self, op: str, result: object) -> None:
        if op == "start":
            self.started_pid = getattr(result, "pid", None)
            self.message.emit(f"gateway on at {getattr(result, 'url', '')}", 5000)
        else:
            self.message.emit("gateway off", 5000)

    def _op_finished(self) -> None:
        self._op = None
        self._render()
        self.watch.poke()  # show the new state now, not at the next poll
        if self._after_op is not None:
            after, self._after_op = self._after_op, None
            after()

    def copy_url(self) -> str:
        QGuiApplication.clipboard().setText(self.model.url)
        self.message.emit(f"copied the gateway URL {self.model.url}", 4000)
        return self.model.url

    # --- quitting --------------------------------------------------------------------
    def release(self, stop_gateway: bool, then: Callable[[], None]) -> None:
        """At quit, off the UI thread: stop watching and, with stop_gateway, stop the gateway
        if this window started it (one started from a terminal, or kept by an earlier window,
        is not ours to stop). then() runs on the UI thread once that is done. A start or stop
        still running is waited for first, by chaining, not by blocking."""
        if self._op is not None:
            self._after_op = lambda: self.release(stop_gateway, then)
            return
        self._unsubscribe()
        pid = self.started_pid if stop_gateway else None
        self._watch_stopping = True
        if pid is not None:
            self._op = "stop"
            self._render()
        self._then = then
        # A bound slot: a lambda's queued call would be lost with the Task once the runner
        # has forgotten it.
        self.runner.submit("gateway release", self._release, pid, long=True,
                           on_error=lambda e: self.message.emit(f"gateway stop failed: {e}",
                                                                15000),
                           on_finished=self._released)

    def _released(self) -> None:
        self._op = None
        self._render()
        then, self._then = self._then, None
        if then is not None:
            then()

    def _release(self, pid: int | None) -> bool:
        """Worker thread: stop the watch (it may be in a poll), then the gateway if it is the
        one with that pid. True if a gateway was stopped."""
        self.watch.stop()
        return self.stop_if_ours(pid)

    def stop_if_ours(self, pid: int | None) -> bool:
        """Blocking: stop the running gateway if its pid is `pid` (the one this window started)."""
        if pid is None:
            return False
        rec = self.watch.record()
        return rec is not None and rec.pid == pid and bool(self.stop_fn())

    def _unsubscribe(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    def shutdown(self) -> None:
        """Stop feeding the window, without blocking: the watch stops on a thread of its own
        (it may be in the middle of a poll). The gateway itself is left as it is; release()
        is the quit path that stops it."""
        self._unsubscribe()
        if not self._watch_stopping:
            self._watch_stopping = True
            threading.Thread(target=self.watch.stop, name="tierdeck-gateway-watch-stop",
                             daemon=True).start()
