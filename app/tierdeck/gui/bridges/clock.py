"""The window's one display clock: a fast tick (4 Hz) and a slow tick (1 Hz).

friture drives every widget from one display timer; so does TierDeck. Widgets and bridges
connect to `fast` (card labels, chart redraw checks, log tail) or `slow` (server status,
device memory) instead of each owning a QTimer, so the window wakes up four times a second,
not once per timer, and stopping the clock stops every refresh at once.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

FAST_MS = 250
SLOW_EVERY = 4  # fast ticks per slow tick: 1 s


class UiClock(QObject):
    fast = Signal()
    slow = Signal()
    _shared: UiClock | None = None

    def __init__(self, fast_ms: int = FAST_MS, slow_every: int = SLOW_EVERY,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.slow_every = max(1, slow_every)
        self.ticks = 0
        self._timer = QTimer(self)
        self._timer.setInterval(fast_ms)
        self._timer.timeout.connect(self.tick)

    @classmethod
    def shared(cls) -> UiClock:
        """The application's clock, started on first use (owned by the QApplication)."""
        if cls._shared is None:
            cls._shared = UiClock(parent=QCoreApplication.instance())
            cls._shared.destroyed.connect(cls._forget)
            cls._shared.start()
        return cls._shared

    @classmethod
    def _forget(cls) -> None:
        cls._shared = None

    @property
    def fast_ms(self) -> int:
        return self._timer.interval()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def tick(self) -> None:
        """One fast tick; every slow_every-th is also a slow tick (public for tests)."""
        self.ticks += 1
        self.fast.emit()
        if self.ticks % self.slow_every == 0:
            self.slow.emit()
