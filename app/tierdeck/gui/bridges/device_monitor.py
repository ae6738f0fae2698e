"""Re-read the machine's memory on every slow clock tick, off the UI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from tierdeck.core.hardware import Detection, detect_devices
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import TaskRunner


class DeviceMonitor(QObject):
    updated = Signal(object)  # Detection
    failed = Signal(str)

    def __init__(self, runner: TaskRunner, reserve_mib: int = 1024, clock: UiClock | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.reserve_mib = reserve_mib
        self.last: Detection | None = None
        self._pending = False
        self.clock = clock or UiClock.shared()
        self._ticking = False

    def start(self) -> None:
        self.refresh()
        if not self._ticking:
            self.clock.slow.connect(self.refresh)
            self._ticking = True

    def stop(self) -> None:
        if self._ticking:
            self.clock.slow.disconnect(self.refresh)
            self._ticking = False

    def refresh(self) -> None:
        if self._pending:
            return  # a slow NVML read must not pile up reads behind it
        self._pending = True
        self.runner.submit("detect devices", detect_devices, self.reserve_mib,
                           on_done=self._done, on_error=self._error)

    def _done(self, det: Detection) -> None:
        self._pending = False
        self.last = det
        self.updated.emit(det)

    def _error(self, msg: str) -> None:
        self._pending = False
        self.failed.emit(msg)
