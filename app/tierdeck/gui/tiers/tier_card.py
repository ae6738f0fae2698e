"""One tier as a card: what it is, its state, and one-click start/swap and stop."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.gui.shell.fonts import bold, set_text_color
from tierdeck.gui.shell.icon import STATE_COLORS
from tierdeck.gui.tiers.card_model import CardModel


class TierCard(QFrame):
    activate = Signal(str)  # start or swap to this tier
    stop = Signal(str)
    selected = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.setObjectName("TierCard")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.model: CardModel | None = None
        self.is_selected = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(3)

        top = QHBoxLayout()
        self.dot = QLabel("●")
        self.title = QLabel(name)
        bold(self.title, 1.5)
        self.alias = QLabel()
        self.alias.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.dot)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.alias)
        lay.addLayout(top)

        self.details = QLabel()
        self.memory = QLabel()
        self.gateway = QLabel()  # shared engine, requests in flight; hidden when nothing to say
        self.gateway.setWordWrap(True)
        self.gateway.hide()
        lay.addWidget(self.details)
        lay.addWidget(self.memory)
        lay.addWidget(self.gateway)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        self.progress.hide()
        lay.addWidget(self.progress)

        bottom = QHBoxLayout()
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.speed = QLabel()
        bold(self.speed)
        self.primary = QPushButton("Start")
        self.primary.clicked.connect(lambda: self.activate.emit(self.name))
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self.stop.emit(self.name))
        bottom.addWidget(self.state, 1)
        bottom.addWidget(self.speed)
        bottom.addWidget(self.primary)
        bottom.addWidget(self.stop_button)
        lay.addLayout(bottom)
        self.set_selected(False)

    def show_model(self, m: CardModel, busy: bool = False) -> None:
        self.model = m
        self.title.setText(m.title)
        self.alias.setText(m.alias)
        self.details.setText(m.details)
        self.memory.setText(m.memory)
        self.memory.setToolTip(m.plan_note)
        self.gateway.setText(m.gateway)
        self.gateway.setVisible(bool(m.gateway))
        self.state.setText(m.state_text)
        self.state.setToolTip(m.state_text)
        color = STATE_COLORS.get(m.state, STATE_COLORS["stopped"])
        set_text_color(self.dot, color)
        self.speed.setText(m.speed)
        self.progress.setVisible(m.state == "starting")
        if m.progress is None:
            self.progress.setRange(0, 0)  # busy indicator until the log gives a fraction
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(m.progress)
        self.primary.setText(m.primary_action or "Start")
        self.primary.setVisible(bool(m.primary_action))
        self.primary.setEnabled(not busy)
        self.stop_button.setVisible(m.can_stop or busy)
        self.stop_button.setEnabled(m.can_stop or busy)

    def set_selected(self, on: bool) -> None:
        self.is_selected = on
        self.update()

    def paintEvent(self, e) -> None:  # noqa: N802 - Qt override
        # Drawn, not style-sheeted: the border follows the palette on a live theme switch.
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        sel = self.is_selected
        pen = QPen(pal.color(QPalette.ColorRole.Highlight if sel else QPalette.ColorRole.Mid),
                   2 if sel else 1)
        p.setPen(pen)
        p.setBrush(pal.color(QPalette.ColorRole.Base if sel else QPalette.ColorRole.Window))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 6, 6)
        p.end()

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.selected.emit(self.name)
        super().mousePressEvent(e)
