"""The Charts tab: hosts the ChartsWidget on the metrics bridge's store; the supervisor's
state changes become markers on its time axis. While a gateway runs, its per-tier requests/s
and tokens/s (GatewayCharts) sit below."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.metrics_bridge import MetricsBridge
from tierdeck.gui.charts.gateway_charts import GatewayCharts
from tierdeck.gui.charts.widget import ChartsWidget


class ChartsTab(QWidget):
    def __init__(self, metrics: MetricsBridge, parent: QWidget | None = None,
                 clock: UiClock | None = None):
        super().__init__(parent)
        self.metrics = metrics
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.charts = ChartsWidget(metrics.store, clock=clock)
        metrics.bridge.event.connect(self.charts.add_event)
        self.gateway = GatewayCharts(clock=clock)
        lay.addWidget(self.charts, 3)
        lay.addWidget(self.gateway, 1)
