"""System tray: tier states at a glance, quick switch, show window, quit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tierdeck.core.profiles import Profile
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.shell.icon import app_icon
from tierdeck.gui.tiers.card_model import RUNNING_STATES

if TYPE_CHECKING:
    from tierdeck.gui.shell.main_window import MainWindow


def tray_state(statuses: dict[str, ServerStatus]) -> str | None:
    """The one state the icon shows: a crash beats loading beats ready."""
    states = {s.state for s in statuses.values()}
    for s in ("crashed", "failed", "starting", "stopping", "ready"):
        if s in states:
            return s
    return None


class Tray:
    def __init__(self, window: MainWindow):
        self.window = window
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.icon = QSystemTrayIcon(app_icon(), window)
        self.menu = QMenu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.tiers: list[str] = []
        self.statuses: dict[str, ServerStatus] = {}
        self._rebuild()
        if self.available:
            self.icon.show()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.window.bring_to_front()

    def set_profile(self, profile: Profile) -> None:
        self.tiers = [t.name for t in profile.tiers.values() if not t.is_remote]
        self._rebuild()

    def set_statuses(self, statuses: dict[str, ServerStatus]) -> None:
        changed = {n: s.state for n, s in statuses.items()} != {
            n: s.state for n, s in self.statuses.items()}
        self.statuses = statuses
        if not changed:
            return  # rebuilding an open menu every second would close it under the user
        self._rebuild()
        st = tray_state(statuses)
        self.icon.setIcon(app_icon(st) if st else app_icon())
        self.icon.setToolTip("TierDeck\n" + "\n".join(
            f"{n}: {s.state}" for n, s in statuses.items()) or "TierDeck")

    def _rebuild(self) -> None:
        m = self.menu
        m.clear()
        show = QAction("Show TierDeck", m)
        show.triggered.connect(self.window.bring_to_front)
        m.addAction(show)
        m.addSeparator()
        for i, name in enumerate(self.tiers):
            st = self.statuses.get(name)
            state = st.state if st else "stopped"
            a = QAction(f"{name}  [{state}]", m)
            if i < 9:
                a.setShortcut(f"Ctrl+{i + 1}")
            a.setEnabled(state not in RUNNING_STATES)
            a.triggered.connect(lambda _=False, n=name: self.window.activate_tier(n))
            m.addAction(a)
        m.addSeparator()
        stop = QAction("Stop all", m)
        stop.triggered.connect(self.window.stop_all)
        m.addAction(stop)
        quit_ = QAction("Quit", m)
        quit_.triggered.connect(self.window.request_quit)
        m.addAction(quit_)

    def notify(self, text: str) -> None:
        if self.available and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage("TierDeck", text, QSystemTrayIcon.MessageIcon.Information, 3000)

    def hide(self) -> None:
        self.icon.hide()
