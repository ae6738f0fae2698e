"""Light and dark palettes on the Fusion style, so both look the same on every OS."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        return scheme() == Qt.ColorScheme.Dark
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(42, 45, 50), QColor(225, 228, 232)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor(48, 51, 57)),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, QColor(52, 56, 62)),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor(255, 90, 90)),
        (QPalette.ColorRole.Link, QColor(110, 170, 255)),
        (QPalette.ColorRole.Highlight, QColor(60, 120, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 145, 150)),
        (QPalette.ColorRole.Mid, QColor(70, 74, 80)),
        (QPalette.ColorRole.Dark, QColor(22, 24, 27)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 130))
    return p


def _light_palette() -> QPalette:
    p = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, QColor(243, 244, 246)),
        (QPalette.ColorRole.WindowText, QColor(25, 27, 30)),
        (QPalette.ColorRole.Base, QColor(255, 255, 255)),
        (QPalette.ColorRole.AlternateBase, QColor(236, 238, 241)),
        (QPalette.ColorRole.ToolTipBase, QColor(255, 255, 230)),
        (QPalette.ColorRole.ToolTipText, QColor(25, 27, 30)),
        (QPalette.ColorRole.Text, QColor(25, 27, 30)),
        (QPalette.ColorRole.Button, QColor(232, 234, 237)),
        (QPalette.ColorRole.ButtonText, QColor(25, 27, 30)),
        (QPalette.ColorRole.Link, QColor(20, 90, 200)),
        (QPalette.ColorRole.Highlight, QColor(50, 110, 210)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.PlaceholderText, QColor(120, 124, 130)),
    ):
        p.setColor(role, color)
    return p


def resolve(mode: str) -> str:
    if mode == "system":
        return "dark" if system_is_dark() else "light"
    return mode if mode in ("light", "dark") else "light"


def apply_theme(app: QApplication, mode: str = "system") -> str:
    """Apply a theme and return the one in effect ("light" or "dark")."""
    effective = resolve(mode)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(_dark_palette() if effective == "dark" else _light_palette())
    app.setProperty("tierdeck_theme", effective)
    # Widgets with a style sheet resolved palette() colours when it was set: set it again.
    for w in app.allWidgets():
        sheet = w.styleSheet()
        if sheet:
            w.setStyleSheet("")
            w.setStyleSheet(sheet)
        w.update()
    return effective


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return bool(app) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128
