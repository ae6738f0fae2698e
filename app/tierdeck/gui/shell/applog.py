"""The app log: a rotating file in the user log folder, with Qt's own messages routed in."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

from tierdeck.core.paths import app_dirs, ensure_dir

LOG_NAME = "tierdeck-gui.log"
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
qt_log = logging.getLogger("tierdeck.qt")


def _qt_message(mode: QtMsgType, context, message: str) -> None:
    where = f" ({context.file}:{context.line})" if context and context.file else ""
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


def setup_logging(level: int = logging.INFO) -> Path:
    """Log `tierdeck.*` to <logs>/tierdeck-gui.log; idempotent (tests call it many times)."""
    path = ensure_dir(app_dirs().logs) / LOG_NAME
    log = logging.getLogger("tierdeck")
    log.setLevel(level)
    for h in list(log.handlers):
        if getattr(h, "_tierdeck_app_log", False):
            if Path(h.baseFilename) == path:
                qInstallMessageHandler(_qt_message)
                return path
            log.removeHandler(h)
            h.close()
    handler = RotatingFileHandler(path, maxBytes=2 * 1024 * 1024, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._tierdeck_app_log = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    qInstallMessageHandler(_qt_message)
    return path


def close_logging() -> None:
    qInstallMessageHandler(None)
    log = logging.getLogger("tierdeck")
    for h in list(log.handlers):
        if getattr(h, "_tierdeck_app_log", False):
            log.removeHandler(h)
            h.close()
