"""Open the desktop app, or explain what to do on a machine without a display."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def launch(argv: list[str] | None = None) -> int:
    if not has_display():
        print(
            "tierdeck: no display here (DISPLAY/WAYLAND_DISPLAY unset), so the desktop app "
            "cannot open.\nThe same features work headless:\n"
            "  tierdeck detect            memory of this machine\n"
            "  tierdeck plan MODEL.gguf   what context/slots fit\n"
            "  tierdeck up PROFILE        start a profile's tiers\n"
            "  tierdeck top               live tokens/s and memory",
        )
        return 0
    from PySide6.QtWidgets import QApplication, QLabel  # noqa: PLC0415

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    w = QLabel("TierDeck")
    w.resize(640, 400)
    w.show()
    return app.exec()
