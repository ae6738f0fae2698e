"""The Try it tab: send one prompt to the selected tier and watch the answer stream in.

The request runs on the TaskRunner's long pool (core.ask reads the stream there); each piece
comes back to the UI thread as a progress signal. Thinking goes to its own box, collapsed
under a toggle; the figures (time to first token, tokens/s) update while it streams and are
replaced by core.ask's own count at the end.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.ask import THINKING, AskCancelled, AskError, AskResult, ask, ask_target
from tierdeck.core.profiles import Profile
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.bridges.tasks import Cancelled, Task, TaskRunner
from tierdeck.gui.plan.plan_controller import THINKING as THINKING_CHOICES
from tierdeck.gui.shell.fonts import bold


class TryItView(QWidget):
    answered = Signal(object)  # AskResult, after a complete answer
    failed = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.profile: Profile | None = None
        self.tier: str | None = None
        self.statuses: dict[str, ServerStatus] = {}
        self.gateway = None  # the running gateway's record for this profile, if any
        self.task: Task | None = None
        self.result: AskResult | None = None
        self._t0 = self._first = 0.0
        self._pieces = 0

        self.title = QLabel("Select a tier")
        bold(self.title, 1)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Ask the selected tier something… (Ctrl+Enter sends)")
        self.prompt.setMaximumHeight(90)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(lambda: self.ask())
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.cancel)
        self.thinking_mode = QComboBox()
        for label, value in THINKING_CHOICES:
            self.thinking_mode.addItem(f"thinking: {label}", value)
        self.thinking_mode.setToolTip("Ask the model to think first (templates with enable_thinking)")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 8192)
        self.max_tokens.setValue(256)
        self.max_tokens.setSuffix(" tokens max")
        row = QHBoxLayout()
        row.addWidget(self.thinking_mode)
        row.addWidget(self.max_tokens)
        row.addStretch(1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)

        self.thinking_toggle = QToolButton()
        self.thinking_toggle.setCheckable(True)
        self.thinking_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thinking_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.thinking_toggle.toggled.connect(self._toggle_thinking)
        self.thinking_box = QPlainTextEdit()
        self.thinking_box.setReadOnly(True)
        self.thinking_box.setMaximumHeight(140)
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setPlaceholderText("The answer streams in here.")
        self.stats = QLabel("")
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.prompt)
        lay.addLayout(row)
        lay.addWidget(self.thinking_toggle)
        lay.addWidget(self.thinking_box)
        lay.addWidget(self.answer, 1)
        lay.addWidget(self.stats)
        QShortcut(QKeySequence("Ctrl+Return"), self.prompt, activated=lambda: self.ask())
        self._reset_thinking()
        self._update_enabled()

    # ---- inputs ------------------------------------------------------------------------
    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self._update_enabled()

    def select_tier(self, name: str) -> None:
        self.tier = name
        self._update_enabled()

    def set_gateway(self, record) -> None:
        """The gateway's record while one runs for this profile (None otherwise): prompts then
        go through it, so the tier's settings apply and the request is counted."""
        if record is not None and (self.profile is None or record.profile != self.profile.name):
            record = None
        if record != self.gateway:
            self.gateway = record
            self._update_enabled()

    def set_statuses(self, statuses: dict[str, ServerStatus]) -> None:
        self.statuses = statuses
        self._update_enabled()

    def _tier_status(self) -> tuple[object | None, ServerStatus | None]:
        tier = self.profile.tiers.get(self.tier) if self.profile and self.tier else None
        return tier, self.statuses.get(self.tier or "")

    def _update_enabled(self) -> None:
        tier, st = self._tier_status()
        running = self.task is not None
        # Through a gateway a stopped tier is fine: the gateway starts (or swaps in) its engine.
        ready = tier is not None and (self.gateway is not None
                                      or (st is not None and st.state == "ready"))
        if tier is None:
            self.title.setText("Select a tier")
        elif tier.is_remote:
            self.title.setText(f"Try it — {tier.name} (remote: ask it with its own client)")
        else:
            self.title.setText(f"Try it — {tier.name}" + ("" if ready else " (not running: start it first)"))
        self.send_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running)

    # ---- asking ------------------------------------------------------------------------
    def ask(self, prompt: str | None = None) -> Task | None:
        """Send the prompt (the box's text by default) to the selected tier."""
        if prompt is not None:
            self.prompt.setPlainText(prompt)
        text = self.prompt.toPlainText().strip()
        tier, st = self._tier_status()
        if not text or tier is None or self.task is not None:
            return None
        try:
            target = ask_target(tier, st.host if st else None, st.port if st else None,
                                st.alias if st else "", gateway=self.gateway)
        except AskError as e:
            self.stats.setText(str(e))
            return None
        self.answer.clear()
        self._reset_thinking()
        self.result = None
        self._t0, self._first, self._pieces = time.monotonic(), 0.0, 0
        self.stats.setText(f"asking {tier.name} ({target.url})…")
        thinking, max_tokens = self.thinking_mode.currentData(), self.max_tokens.value()

        def work(progress, cancel) -> AskResult:
            try:
                return ask(target, text, max_tokens=max_tokens, thinking=thinking,
                           on_delta=progress, cancel=cancel)
            except AskCancelled:
                raise Cancelled from None  # the user pressed Stop: not an error to log

        self.task = self.runner.submit(f"ask {tier.name}", work, on_progress=self._on_delta,
                                       on_done=self._done, on_error=self._failed, long=True)
        self._update_enabled()
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _on_delta(self, piece: tuple[str, str]) -> None:
        kind, text = piece
        now = time.monotonic()
        self._first = self._first or now
        self._pieces += 1
        box = self.thinking_box if kind == THINKING else self.answer
        cursor = box.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        box.setTextCursor(cursor)
        if kind == THINKING:
            self._thinking_chars += len(text)  # counted here: re-reading the box is O(n) a token
            self.thinking_toggle.show()
            self._label_thinking()
        rate = (self._pieces - 1) / (now - self._first) if now > self._first else None
        self.stats.setText(f"streaming… first token {(self._first - self._t0) * 1000:.0f} ms · "
                           f"{self._pieces} tokens" + (f" · {rate:.1f} tok/s" if rate else ""))

    def _done(self, result: AskResult) -> None:
        self.task = None
        self.result = result
        self.stats.setText(result.summary())
        self._update_enabled()
        self.answered.emit(result)

    def _failed(self, msg: str) -> None:
        self.task = None
        self.stats.setText("stopped" if msg == "cancelled" else f"failed: {msg}")
        self._update_enabled()
        self.failed.emit(msg)

    # ---- thinking box ------------------------------------------------------------------
    def _reset_thinking(self) -> None:
        self._thinking_chars = 0
        self.thinking_box.clear()
        self.thinking_toggle.setChecked(False)
        self.thinking_toggle.hide()
        self.thinking_box.hide()

    def _label_thinking(self) -> None:
        self.thinking_toggle.setText(f"Thinking ({self._thinking_chars} characters)")

    def _toggle_thinking(self, shown: bool) -> None:
        self.thinking_box.setVisible(shown)
        self.thinking_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def shutdown(self) -> None:
        self.cancel()
