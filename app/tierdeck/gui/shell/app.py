"""Start the desktop app: one instance, app log, theme, main window, tray."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from tierdeck import __version__
from tierdeck.core.settings import Settings, SettingsError
from tierdeck.gui.shell.applog import setup_logging
from tierdeck.gui.shell.icon import app_icon
from tierdeck.gui.shell.settings_dialog import theme_of
from tierdeck.gui.shell.single_instance import SingleInstance
from tierdeck.gui.shell.theme import apply_theme

log = logging.getLogger("tierdeck.gui")


def load_settings() -> tuple[Settings, str | None]:
    try:
        return Settings.load(), None
    except SettingsError as e:
        return Settings(), str(e)


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    if not app.applicationVersion():
        app.setApplicationName("tierdeck")
        app.setApplicationDisplayName("TierDeck")
        app.setOrganizationName("TierDeck")
        app.setApplicationVersion(__version__)
    if app.windowIcon().isNull():
        app.setWindowIcon(app_icon())
    return app


def run(argv: list[str] | None = None, *, app: QApplication | None = None,
        profile: str | None = None, notes: list[str] | tuple[str, ...] = ()) -> int:
    """The desktop app's main loop. profile: the one to open (else the last used)."""
    app = app or make_app(argv)
    log_path = setup_logging()
    log.info("TierDeck %s starting (log %s)", __version__, log_path)
    single = SingleInstance()
    if not single.acquire():
        log.info("another TierDeck is running; asked it to show its window")
        print("tierdeck: already running; raised the open window.", file=sys.stderr)
        return 0
    settings, problem = load_settings()
    apply_theme(app, theme_of(settings))

    from tierdeck.gui.shell.main_window import MainWindow  # noqa: PLC0415 - after the theme is set

    win = MainWindow(settings, profile=profile)
    single.activated.connect(win.bring_to_front)
    win.quit_requested.connect(app.quit)
    # With a tray icon the app lives on after the window closes; without one, closing quits.
    app.setQuitOnLastWindowClosed(win.tray is None)
    win.show()
    if problem:
        QMessageBox.warning(win, "Settings", f"{problem}\nUsing defaults; saving will replace the file.")
    for note in notes:
        win.statusBar().showMessage(note, 15000)
        log.warning("startup: %s", note)
    rc = app.exec()
    if not win.quitting:  # the loop ended without request_quit (e.g. the session ends)
        win.shutdown()
        # No UI left to block: stop a gateway this window started, unless it is kept.
        if not win.settings.gateway_keep_running:
            win.gateway.stop_if_ours(win.gateway.started_pid)
    single.close()
    log.info("TierDeck exits (%s)", rc)
    return rc
