"""Client settings: the gateway's Claude Code / OpenAI / LiteLLM settings, and a tier's own URL."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.profiles import Profile
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.shell.fonts import bold


class ClientsView(QWidget):
    message = Signal(str, int)
    copied = Signal(str, str)  # what, text

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.profile: Profile | None = None
        self.tier: str | None = None
        self.statuses: dict[str, ServerStatus] = {}
        self.gateway = None  # the running gateway's record (core.gateway.control), or None
        self.texts: dict[str, str] = {}
        lay = QVBoxLayout(self)
        self.title = QLabel("Select a tier")
        bold(self.title)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.hint)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.views: dict[str, QPlainTextEdit] = {}
        self.buttons: dict[str, QPushButton] = {}
        for key, label in (("env", "Claude Code / Agent SDK environment, every tier through "
                                   "the gateway (shell)"),
                           ("openai", "OpenAI SDK clients through the gateway (base_url + /v1)"),
                           ("litellm", "LiteLLM model_list: every tier, at the gateway"),
                           ("direct", "Direct to this tier's own server, without the gateway")):
            row = QHBoxLayout()
            row.addWidget(QLabel(label), 1)
            b = QPushButton("Copy")
            b.clicked.connect(lambda _=False, k=key: self.copy(k))
            row.addWidget(b)
            lay.addLayout(row)
            v = QPlainTextEdit()
            v.setReadOnly(True)
            v.setFont(mono)
            lay.addWidget(v, 1)
            self.views[key] = v
            self.buttons[key] = b

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self._render()

    def set_statuses(self, statuses: dict[str, ServerStatus]) -> None:
        self.statuses = statuses
        self._render()

    def set_gateway(self, record) -> None:
        if record != self.gateway:
            self.gateway = record
            self._render()

    def select_tier(self, name: str) -> None:
        self.tier = name
        self._render()

    def _render(self) -> None:
        if self.profile is None or self.tier is None:
            return
        from tierdeck.gui.views.client_texts import client_texts  # noqa: PLC0415

        self.title.setText(f"Client settings — {self.tier}")
        texts, hint = client_texts(self.profile, self.tier, self.statuses, self.gateway)
        self.hint.setText(hint)
        for key, view in self.views.items():
            t = texts.get(key, "")
            if t != self.texts.get(key):
                view.setPlainText(t)
            self.buttons[key].setEnabled(bool(t))
        self.texts = texts

    def copy(self, key: str) -> str:
        text = self.texts.get(key, "")
        QGuiApplication.clipboard().setText(text)
        self.message.emit(f"copied the {key} settings of {self.tier}", 4000)
        self.copied.emit(key, text)
        return text
