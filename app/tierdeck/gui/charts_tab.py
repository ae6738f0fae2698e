"""Hosts the metrics engineer's ChartsWidget (tokens/s, memory with planned lines, slots) and,
while a gateway runs, its per-tier requests/s and tokens/s (GatewayCharts)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tierdeck.gui.gateway_charts import GatewayCharts
from tierdeck.gui.metrics_bridge import MetricsBridge


class ChartsTab(QWidget):
    def __init__(self, metrics: MetricsBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.metrics = metrics
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.gateway = GatewayCharts()
        try:
            from tierdeck.gui.charts import ChartsWidget  # noqa: PLC0415
        except ImportError as e:  # charts not installed: say so instead of failing the window
            self.charts = None
            lay.addWidget(QLabel(f"charts unavailable: {e}"))
            lay.addWidget(self.gateway)
            return
        self.charts = ChartsWidget(metrics.store)
        lay.addWidget(self.charts, 3)
        lay.addWidget(self.gateway, 1)
