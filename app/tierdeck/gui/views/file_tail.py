"""Follow a server's log file: new bytes are read on a worker thread (on every fast clock tick),
lines arrive as a signal."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import TaskRunner

FIRST_READ_BYTES = 256 * 1024  # on (re)open show the tail, not a 100 MB history


def read_from(path: str, offset: int | None, limit: int = FIRST_READ_BYTES) -> tuple[int, str, bool]:
    """Return (new offset, text, restarted). offset None = start near the end of the file."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0, "", offset is None
    restarted = offset is None or size < offset  # rotated or truncated: start again
    start = max(0, size - limit) if restarted else offset
    if start == size:
        return size, "", restarted
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(min(size - start, 4 * limit))
    if restarted and start > 0:
        # Started mid-file: drop the partial first line.
        nl = data.find(b"\n")
        if nl >= 0:
            start += nl + 1
            data = data[nl + 1 :]
    # Keep a trailing half-written line for the next read.
    cut = data.rfind(b"\n")
    if cut < 0:
        return start, "", restarted
    return start + cut + 1, data[: cut + 1].decode("utf-8", "replace"), restarted


class FileTail(QObject):
    lines = Signal(str, bool)  # text (whole lines), restarted (clear the view first)

    def __init__(self, runner: TaskRunner, clock: UiClock | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.path: str | None = None
        self._offset: int | None = None
        self._pending = False
        self._generation = 0
        self.clock = clock or UiClock.shared()
        self._ticking = False

    def follow(self, path: str | Path | None) -> None:
        path = str(path) if path else None
        if path == self.path:
            return
        self.path = path
        self._offset = None
        self._generation += 1
        if path:
            self._tick(True)
            self.poll()
        else:
            self._tick(False)
            self.lines.emit("", True)

    def stop(self) -> None:
        self._tick(False)

    def _tick(self, on: bool) -> None:
        if on != self._ticking:
            (self.clock.fast.connect if on else self.clock.fast.disconnect)(self.poll)
            self._ticking = on

    def poll(self) -> None:
        if self._pending or not self.path:
            return
        self._pending = True
        gen = self._generation
        self.runner.submit("tail log", read_from, self.path, self._offset,
                           on_done=lambda r, g=gen: self._got(g, r),
                           on_error=lambda _m: self._failed())

    def _failed(self) -> None:
        self._pending = False

    def _got(self, gen: int, result: tuple[int, str, bool]) -> None:
        self._pending = False
        if gen != self._generation:
            return  # the user picked another server meanwhile
        offset, text, restarted = result
        self._offset = offset
        if text or restarted:
            self.lines.emit(text, restarted)
