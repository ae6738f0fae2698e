"""The Qt binding must not leak references: PySide6 6.12.0 dropped one reference to True on
every Signal.emit() and one to None on every processEvents(), and a window aborted within
minutes ("bool_dealloc"). pyproject.toml excludes that version; this guards the next one."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal


class _Emitter(QObject):
    sig = Signal(object)


def test_emit_and_process_events_keep_refcounts(qapp):
    e = _Emitter()
    e.sig.connect(lambda _v: None)
    t0, n0 = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(2000):
        e.sig.emit(i)
        QCoreApplication.processEvents()
    assert abs(sys.getrefcount(True) - t0) < 50
    assert abs(sys.getrefcount(None) - n0) < 500
