"""Re-read the machine's memory on every slow clock tick, off the UI thread.

One HardwareSession for the monitor's lifetime: NVML is opened once (shared with the
sampler), not initialised and shut down on every refresh.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from tierdeck.core.hardware import Detection, HardwareSession
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import TaskRunner


class DeviceMonitor(QObject):
    updated = Signal(object)  # Detection
    failed = Signal(str)

    def __init__(self, runner: TaskRunner, reserve_mib: int = 1024, clock: UiClock | None = None,
                 parent: QObject | None = None, session: HardwareSession | None = None):
        super().__init__(parent)
        self.runner = runner
        self.reserve_mib = reserve_mib
        self.last: Detection | None = None
        self.session = session or HardwareSession()
        self._pending = False
        self.clock = clock or UiClock.shared()
        self._ticking = False

    def start(self) -> None:
        self.refresh()
        if not self._ticking:
            self.clock.slow.connect(self.refresh)
            self._ticking = True

    def stop(self) -> None:
        """Stop refreshing and give the NVML session back (the window is closing)."""
        if self._ticking:
            self.clock.slow.disconnect(self.refresh)
            self._ticking = False
        self.session.close()

    def refresh(self) -> None:
        if self._pending:
            return  # a slow NVML read must not pile up reads behind it
        self._pending = True
        self.runner.submit("detect devices", self.session.detect, self.reserve_mib,
                           on_done=self._done, on_error=self._error)

    def _done(self, det: Detection) -> None:
        self._pending = False
        self.last = det
        self.updated.emit(det)

    def _error(self, msg: str) -> None:
        self._pending = False
        self.failed.emit(msg)
