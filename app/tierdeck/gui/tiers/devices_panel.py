"""The Machine box: one row per device with total / free / budget and a usage bar."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from tierdeck.core.hardware import Detection, Device
from tierdeck.core.units import fmt_bytes
from tierdeck.gui.shell.fonts import bold


def device_summary(d: Device) -> str:
    used = d.total_bytes - d.free_bytes
    extra = []
    if d.utilization_pct is not None:
        extra.append(f"{d.utilization_pct:.0f}% busy")
    if d.temperature_c is not None:
        extra.append(f"{d.temperature_c:.0f} °C")
    tail = f" · {' · '.join(extra)}" if extra else ""
    return (f"total {fmt_bytes(d.total_bytes)} · used {fmt_bytes(used)} · "
            f"free {fmt_bytes(d.free_bytes)} · budget {fmt_bytes(d.budget_bytes)}{tail}")


class DeviceRow(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0 , 2)
        lay.setSpacing(2)
        self.title = QLabel()
        bold(self.title)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.bar)
        lay.addWidget(self.detail)

    def show_device(self, d: Device) -> None:
        self.title.setText(f"{d.index}: {d.name}  ({d.kind}, {d.source})")
        used = max(0, d.total_bytes - d.free_bytes)
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * used / d.total_bytes) if d.total_bytes else 0)
        self.detail.setText(device_summary(d))
        self.setToolTip("\n".join([f"{k}: {v}" for k, v in d.how.items()] + d.notes))


class DevicesPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Machine", parent)
        self._lay = QVBoxLayout(self)
        self._rows: list[DeviceRow] = []
        self.notes = QLabel("reading devices…")
        self.notes.setWordWrap(True)
        self._lay.addWidget(self.notes)
        self.detection: Detection | None = None

    def show_detection(self, det: Detection) -> None:
        self.detection = det
        while len(self._rows) < len(det.devices):
            row = DeviceRow(self)
            self._lay.insertWidget(len(self._rows), row)
            self._rows.append(row)
        for i, row in enumerate(self._rows):
            row.setVisible(i < len(det.devices))
            if i < len(det.devices):
                row.show_device(det.devices[i])
        self.notes.setText("; ".join(det.notes))
        self.notes.setVisible(bool(det.notes))

    def show_rpc(self, hosts) -> None:
        """The profile's llama.cpp RPC hosts, each with the unauthenticated-traffic warning."""
        from tierdeck.core.planner.rpc import WARNING as RPC_WARNING  # noqa: PLC0415
        from tierdeck.gui.plan.split_model import rpc_rows  # noqa: PLC0415

        if not hasattr(self, "_rpc"):
            self._rpc = QLabel()
            self._rpc.setWordWrap(True)
            self._lay.addWidget(self._rpc)
        rows = rpc_rows(hosts)
        self._rpc.setText("".join(f"<b>{t}</b><br>{d}<br>" for t, d in rows)
                          + (f"<i>{RPC_WARNING}</i>" if rows else ""))
        self._rpc.setToolTip(RPC_WARNING)
        self._rpc.setVisible(bool(rows))
