"""Emphasis by font, not style sheet: style sheets freeze palette colours at polish time,
which breaks a live light/dark switch."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget


def bold(w: QWidget, size_delta: float = 0.0) -> QWidget:
    f = w.font()
    f.setBold(True)
    if size_delta:
        f.setPointSizeF(max(6.0, f.pointSizeF() + size_delta))
    w.setFont(f)
    return w


def set_text_color(w: QWidget, color: QColor | None) -> None:
    """A fixed colour (state, verdict), or None for the theme's normal text colour."""
    pal = w.palette()
    if color is None:
        from PySide6.QtWidgets import QApplication  # noqa: PLC0415

        pal.setColor(QPalette.ColorRole.WindowText,
                     QApplication.palette().color(QPalette.ColorRole.WindowText))
    else:
        pal.setColor(QPalette.ColorRole.WindowText, color)
    w.setPalette(pal)
