"""The app and tray icon: the packaged one if present, else drawn (three stacked tiers)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from tierdeck.core.resources import resource_path

STATE_COLORS = {
    "ready": QColor(46, 160, 67),
    "starting": QColor(219, 160, 30),
    "stopping": QColor(219, 160, 30),
    "crashed": QColor(210, 60, 60),
    "failed": QColor(210, 60, 60),
    "stopped": QColor(130, 135, 140),
}


def app_icon(state: str | None = None) -> QIcon:
    if state is None:
        for name in ("tierdeck.svg", "tierdeck.png", "icons/tierdeck.svg", "icons/tierdeck.png"):
            p = resource_path(name)
            if p.is_file():
                return QIcon(str(p))
    return QIcon(draw_icon(state))


def draw_icon(state: str | None = None, size: int = 64) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colors = [QColor(90, 140, 230), QColor(70, 110, 200), QColor(50, 80, 170)]
    h = size / 4.2
    for i, c in enumerate(colors):
        p.setBrush(c)
        p.setPen(Qt.PenStyle.NoPen)
        inset = (2 - i) * size * 0.08
        p.drawRoundedRect(QRectF(inset + 4, 6 + i * (h + 4), size - 8 - 2 * inset, h), 5, 5)
    if state:
        p.setBrush(STATE_COLORS.get(state, STATE_COLORS["stopped"]))
        p.setPen(QColor(255, 255, 255))
        r = size * 0.36
        p.drawEllipse(QRectF(size - r - 1, size - r - 1, r, r))
    p.end()
    return pm
