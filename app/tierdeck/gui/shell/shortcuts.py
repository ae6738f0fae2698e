"""Keyboard shortcuts: Ctrl+1..9 start or swap to the n-th tier, Ctrl+. stops."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def install_shortcuts(window: QWidget, activate_nth: Callable[[int], None],
                      stop: Callable[[], None]) -> list[QShortcut]:
    made = []
    for i in range(1, 10):
        s = QShortcut(QKeySequence(f"Ctrl+{i}"), window)
        s.activated.connect(lambda n=i - 1: activate_nth(n))
        made.append(s)
    s = QShortcut(QKeySequence("Ctrl+."), window)
    s.activated.connect(stop)
    made.append(s)
    return made
