"""The main window: machine and tiers on the left, plan / charts / log / clients on the right.

It wires widgets to the core through the bridges; it decides nothing itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.profiles import Profile, ProfileEntry
from tierdeck.core.profiles.engines import partner_tiers, per_tier
from tierdeck.core.servers.events import LogLine, ServerStatus, StateChanged, Step
from tierdeck.core.settings import Settings
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.device_monitor import DeviceMonitor
from tierdeck.gui.bridges.metrics_bridge import MetricsBridge
from tierdeck.gui.bridges.supervisor_bridge import SupervisorBridge
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.charts.charts_tab import ChartsTab
from tierdeck.gui.plan.plan_view import PlanView
from tierdeck.gui.shell.gateway_model import card_notes
from tierdeck.gui.shell.gateway_strip import GatewayStrip
from tierdeck.gui.shell.icon import app_icon
from tierdeck.gui.shell.settings_dialog import SettingsDialog, theme_of
from tierdeck.gui.shell.shortcuts import install_shortcuts
from tierdeck.gui.shell.theme import apply_theme
from tierdeck.gui.shell.tray import Tray
from tierdeck.gui.shell.window_state import window_settings
from tierdeck.gui.tiers.card_model import RUNNING_STATES, engine_notes
from tierdeck.gui.tiers.devices_panel import DevicesPanel
from tierdeck.gui.tiers.profile_picker import ProfilePicker
from tierdeck.gui.tiers.tiers_panel import TiersPanel
from tierdeck.gui.views.bench_view import BenchView
from tierdeck.gui.views.clients_view import ClientsView
from tierdeck.gui.views.log_view import LogView
from tierdeck.gui.views.try_it import TryItView
from tierdeck.gui.views.usage_view import UsageView

if TYPE_CHECKING:
    from tierdeck.core.hardware import HardwareSession
    from tierdeck.core.servers.supervisor import Supervisor

log = logging.getLogger("tierdeck.gui")


class MainWindow(QMainWindow):
    profile_loaded = Signal(str)
    quit_requested = Signal()

    def __init__(self, settings: Settings | None = None, supervisor: Supervisor | None = None,
                 *, start_sampler: bool = True, tray: bool = True, profile: str | None = None,
                 hardware: HardwareSession | None = None):
        """hardware: the session the device monitor reads (injected readings for screenshots
        and tests); a session of this machine by default. The window closes it at shutdown."""
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("TierDeck")
        self.setWindowIcon(app_icon())
        self.runner = TaskRunner(parent=self)
        # The window's one display clock: every periodic refresh hangs off its two ticks.
        self.clock = UiClock(parent=self)
        self.profile: Profile | None = None
        self.quitting = False
        self._quit_steps = 0  # request_quit: steps still running before the window closes
        self.op_errors: dict[str, str] = {}  # tier -> last failed start/stop, until retried

        if supervisor is None:
            from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415

            supervisor = Supervisor(settings=self.settings)
            self._owns_supervisor = True
        else:
            self._owns_supervisor = False
        self.supervisor = supervisor
        self.bridge = SupervisorBridge(supervisor, self.runner, self.clock, parent=self)
        self.metrics = MetricsBridge(self.bridge, interval_s=self.settings.sample_interval_s,
                                     parent=self)

        # ---- left column: machine + tiers ----
        self.devices = DevicesPanel()
        self.tiers = TiersPanel()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.devices)
        lv.addWidget(self.tiers, 1)

        # ---- right: tabs ----
        self.tabs = QTabWidget()
        self.plan = PlanView(self.runner)
        self.charts = ChartsTab(self.metrics, clock=self.clock)
        self.log_view = LogView(self.runner, clock=self.clock)
        self.clients = ClientsView()
        self.bench = BenchView(self.runner)
        self.usage = UsageView(self.runner, clock=self.clock)
        self.bench.bandwidth_for = self.plan.bandwidth_tps
        self.try_it = TryItView(self.runner)
        self.tabs.addTab(self.plan, "Plan")
        self.tabs.addTab(self.try_it, "Try it")
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.addTab(self.log_view, "Log")
        self.tabs.addTab(self.clients, "Clients")
        self.tabs.addTab(self.bench, "Benchmark")
        self.tabs.addTab(self.usage, "Usage")

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([430, 850])
        self.gateway = GatewayStrip(self.runner, keep_running=self.settings.gateway_keep_running)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(0)
        cv.addWidget(self.gateway)
        cv.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # ---- toolbar ----
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.addWidget(QLabel(" Profile "))
        self.picker = ProfilePicker(self.runner)
        tb.addWidget(self.picker)
        self.act_add_model = QAction("Add model…", self)
        self.act_stop_all = QAction("Stop all", self)
        self.act_stop_all.setToolTip("Stop every running server (Ctrl+.)")
        self.act_settings = QAction("Settings…", self)
        self.act_quit = QAction("Quit", self)
        self.act_quit.setShortcut("Ctrl+Q")
        for a in (self.act_add_model, self.act_stop_all, self.act_settings, self.act_quit):
            tb.addAction(a)
        self.addToolBar(tb)
        self.busy_label = QLabel()
        self.statusBar().addPermanentWidget(self.busy_label)

        # ---- core feeds ----
        self.monitor = DeviceMonitor(self.runner, self.settings.reserve_mib, self.clock, parent=self,
                                     session=hardware)
        self.monitor.updated.connect(self.devices.show_detection)
        self.monitor.updated.connect(self.plan.set_detection)
        self.bridge.statuses_changed.connect(self._statuses_changed)
        self.bridge.op_started.connect(self._op_started)
        self.bridge.op_finished.connect(self._op_finished)
        self.bridge.op_failed.connect(self._op_failed)
        self.bridge.event.connect(self._supervisor_event)
        self.metrics.sampled.connect(lambda _s: self._refresh_cards())
        self.runner.busy_changed.connect(self._busy_changed)
        self.gateway.snapshot.connect(self._gateway_snapshot)
        self.gateway.keep_running_changed.connect(self._keep_gateway_changed)
        self.gateway.message.connect(self.statusBar().showMessage)

        # ---- user actions ----
        self.picker.picked.connect(self._profile_picked)
        self.tiers.activate.connect(self.activate_tier)
        self.tiers.stop.connect(self.stop_tier)
        self.tiers.selected.connect(self._tier_selected)
        self.plan.applied.connect(self._plan_applied)
        self.plan.message.connect(self.statusBar().showMessage)
        self.clients.message.connect(self.statusBar().showMessage)
        self.act_add_model.triggered.connect(self.add_model)
        self.act_stop_all.triggered.connect(self.stop_all)
        self.act_settings.triggered.connect(self.edit_settings)
        self.act_quit.triggered.connect(self.request_quit)
        self.shortcuts = install_shortcuts(self, self.activate_nth, self.stop_all)

        self.tray = Tray(self) if tray else None
        if self.tray is not None and not self.tray.available:
            self.tray = None
        self._restore_window()
        self.monitor.start()
        self.gateway.start_watching()
        if start_sampler:
            self.metrics.start()
        self.picker.reload(select=profile or self.settings.last_profile)
        # Card labels are cheap; the 4 Hz fast tick keeps "loading…" progress moving.
        self.clock.fast.connect(self._refresh_cards)
        self.clock.start()

    # ---- profiles ----------------------------------------------------------------------
    def _profile_picked(self, entry: ProfileEntry) -> None:
        self.set_profile(entry.profile)

    def set_profile(self, profile: Profile | None) -> None:
        self.op_errors.clear()
        prev_tier = self.tiers.current
        same = self.profile is not None and profile is not None and self.profile.name == profile.name
        self.profile = profile
        if profile is None:
            return
        self.tiers.setTitle(f"Tiers — {profile.name}")
        self.tiers.set_tiers(profile.tiers, {n: partner_tiers(profile, n) for n in profile.tiers},
                             engine_notes(profile))
        if same and prev_tier in profile.tiers:
            self.tiers.select(prev_tier)
        self.plan.set_profile(profile)
        self.devices.show_rpc(profile.rpc)  # RPC hosts are devices too (issue 12)
        self.clients.set_profile(profile)
        self.clients.set_statuses(self.statuses_of_profile())
        self.bench.set_profile(profile)
        self.try_it.set_profile(profile)
        self.try_it.set_statuses(self.statuses_of_profile())
        self.usage.set_profile(profile)
        self.gateway.set_profile(profile)
        if self.tiers.current:
            self._tier_selected(self.tiers.current)
        self._refresh_cards()
        for w in profile.warnings:
            self.statusBar().showMessage(w, 10000)
        if self.settings.last_profile != profile.name:
            self.settings.last_profile = profile.name
            self._save_settings()
        if self.tray:
            self.tray.set_profile(profile)
        self.profile_loaded.emit(profile.name)

    def _plan_applied(self, profile: Profile) -> None:
        self.picker.reload(select=profile.name)

    # ---- tiers -------------------------------------------------------------------------
    def tier_names(self) -> list[str]:
        return list(self.profile.tiers) if self.profile else []

    def activate_tier(self, name: str) -> None:
        if self.profile is None or name not in self.profile.tiers:
            return
        tier = self.profile.tiers[name]
        if tier.is_remote:
            self.statusBar().showMessage(f"{name} is a remote tier: nothing to start", 5000)
            return
        engine = self.profile.engine_of(name)  # a shared tier starts its engine
        if self.bridge.is_busy(engine):
            return
        self.tiers.select(name)
        self.bridge.activate(self.profile, engine)

    def activate_nth(self, n: int) -> None:
        names = [t.name for t in self.profile.tiers.values() if not t.is_remote] if self.profile else []
        if 0 <= n < len(names):
            self.activate_tier(names[n])

    def stop_tier(self, name: str) -> None:
        engine = self.profile.engine_of(name) if self.profile else name
        self.bridge.stop(engine, self.profile.name if self.profile else None)

    def stop_all(self) -> None:
        self.bridge.stop(None)

    def _tier_selected(self, name: str) -> None:
        self.plan.select_tier(name)
        self.clients.select_tier(name)
        self.bench.select_tier(name)
        self.try_it.select_tier(name)
        self._show_log_of(name)

    def _show_log_of(self, name: str) -> None:
        st = self.statuses_of_profile().get(name)
        self.log_view.show_server(
            f"{name}" + (f" ({st.state})" if st else " (never started)"),
            (st.log_path or None) if st else None,
            st.command if st else None,
            st.display if st else None,
        )

    def _statuses_changed(self, statuses: dict[str, ServerStatus]) -> None:
        self._refresh_cards()
        if self.tiers.current:
            self._show_log_of(self.tiers.current)
        mine = self.statuses_of_profile()
        self.clients.set_statuses(mine)
        if self.tray:
            self.tray.set_statuses(mine)
        self.bench.set_statuses(mine)
        self.try_it.set_statuses(mine)

    def statuses_of_profile(self) -> dict[str, ServerStatus]:
        if self.profile is None:
            return {}
        # tiers of a shared engine each see the engine's status (one server, one pid)
        return per_tier(self.bridge.profile_statuses(self.profile.name))

    def _refresh_cards(self) -> None:
        if self.profile is None:
            return
        speeds = per_tier(self.metrics.speeds())
        planned = self.plan.planned_bytes()
        statuses = self.statuses_of_profile()
        self.tiers.refresh(statuses, speeds, planned, set(per_tier(dict.fromkeys(self.bridge.busy))),
                           self.op_errors, card_notes(statuses, self.gateway.latest))

    def _op_started(self, op: str, tier: str) -> None:
        self.op_errors.pop(tier, None)
        self.statusBar().showMessage(f"{op} {tier or 'all'}…")
        self._refresh_cards()

    def _op_finished(self, op: str, tier: str) -> None:
        self.statusBar().showMessage(f"{op} {tier or 'all'}: done", 5000)

    def _op_failed(self, op: str, tier: str, msg: str) -> None:
        self.statusBar().showMessage(f"{op} {tier or 'all'} failed: {msg}", 15000)
        if tier and op in ("start", "switch"):
            self.op_errors[tier] = msg
            self._refresh_cards()
        log.warning("%s %s failed: %s", op, tier, msg)

    def _supervisor_event(self, ev: StateChanged | LogLine | Step) -> None:
        if isinstance(ev, Step) and ev.message:  # a step of up/switch/down
            self.statusBar().showMessage(ev.message, 8000)

    def _gateway_snapshot(self, snap) -> None:
        self.clients.set_gateway(snap.record)
        self.try_it.set_gateway(snap.record)
        self.charts.gateway.add_snapshot(snap)
        self._refresh_cards()

    def _keep_gateway_changed(self, keep: bool) -> None:
        self.settings.gateway_keep_running = keep
        self._save_settings()

    def _busy_changed(self, n: int) -> None:
        ops = [f"{t.name}" for t in self.runner.active if not t.name.startswith(("status", "tail", "detect", "list"))]
        self.busy_label.setText(", ".join(ops[:3]) + ("…" if len(ops) > 3 else ""))

    # ---- dialogs -----------------------------------------------------------------------
    def edit_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self)
        if dlg.exec():
            self.apply_settings(dlg.to_settings())

    def apply_settings(self, s: Settings) -> None:
        self.settings = s
        self.supervisor.set_settings(s)
        self._save_settings()
        self.monitor.reserve_mib = s.reserve_mib
        self.monitor.refresh()
        self.metrics.set_interval(s.sample_interval_s)
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme_of(s))

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as e:
            self.statusBar().showMessage(f"cannot save settings: {e}", 10000)

    def add_model(self) -> None:
        from tierdeck.gui.plan.add_model_dialog import AddModelDialog  # noqa: PLC0415

        dlg = AddModelDialog(self.runner, self.settings, self.monitor.last, self)
        if dlg.exec() and dlg.saved_profile is not None:
            self.picker.reload(select=dlg.saved_profile.name)

    # ---- window manners ----------------------------------------------------------------
    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized)
                            | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()

    def _restore_window(self) -> None:
        ws = window_settings()
        geo = ws.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1280, 800)
        st = ws.value("state")
        if st is not None:
            self.restoreState(st)
        sp = ws.value("splitter")
        if sp is not None:
            self.splitter.restoreState(sp)
        tab = ws.value("tab")
        if tab is not None:
            self.tabs.setCurrentIndex(int(tab))

    def save_window(self) -> None:
        ws = window_settings()
        ws.setValue("geometry", self.saveGeometry())
        ws.setValue("state", self.saveState())
        ws.setValue("splitter", self.splitter.saveState())
        ws.setValue("tab", self.tabs.currentIndex())
        ws.sync()

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_window()
        if not self.quitting and self.tray is not None and self.settings.close_to_tray:
            e.ignore()
            self.hide()
            self.tray.notify("TierDeck keeps running here; servers stay up.")
            return
        if not self.quitting:
            e.ignore()
            self.request_quit()
            return
        super().closeEvent(e)

    def quit_choice(self) -> str | None:
        """'stop', 'keep' or None (cancel), following Settings.on_quit."""
        running = self.bridge.running()
        if not running:
            return "keep"
        if self.settings.on_quit in ("stop", "keep"):
            return self.settings.on_quit
        box = QMessageBox(self)
        box.setWindowTitle("Quit TierDeck")
        box.setText(f"{len(running)} server(s) running: {', '.join(running)}.")
        box.setInformativeText("Stop them, or keep them running for your clients?")
        stop = box.addButton("Stop servers", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "stop" if clicked is stop else "keep" if clicked is keep else None

    def request_quit(self) -> None:
        if self._quit_steps:  # already quitting
            return
        choice = self.quit_choice()
        if choice is None:
            return
        self.quitting = True
        # Two steps run off the UI thread, side by side: stopping the servers (if chosen) and
        # releasing the gateway (stopped if this window started it and it is not kept).
        self._quit_steps = 2
        if choice == "stop":
            self.statusBar().showMessage("stopping servers…")
            self.bridge.stop(None, then=self._quit_step_done)
        else:
            self._quit_step_done()
        self.gateway.release(not self.settings.gateway_keep_running, self._quit_step_done)

    def _quit_step_done(self) -> None:
        self._quit_steps -= 1
        if self._quit_steps == 0:
            self._finish_quit()

    def _finish_quit(self) -> None:
        self.shutdown()
        self.close()
        self.quit_requested.emit()

    def shutdown(self) -> None:
        """Stop timers and threads; servers are left as they are (the caller decided)."""
        self.save_window()
        self.clock.stop()
        self.gateway.shutdown()
        self.monitor.stop()
        self.metrics.stop()
        self.log_view.stop()
        self.bench.cancel()
        self.try_it.shutdown()
        self.plan.shutdown()
        self.bridge.close()
        self.runner.cancel_all()
        self.runner.wait(30000)
        if self._owns_supervisor:
            self.supervisor.close()
        if self.tray:
            self.tray.hide()

    def is_running(self, state: str | None) -> bool:
        return state in RUNNING_STATES
