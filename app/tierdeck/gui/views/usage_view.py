"""The Usage tab: the gateway's ledger as charts (tokens, requests, time to first token, API
cost avoided per tier per hour or day) and a per-tier table.

The ledger is read on the task runner (never on the UI thread) when the tab is shown, when
the range changes, and every REFRESH_S (on the window's slow clock tick) while visible; the widget only draws a UsageModel.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.gateway.prices import profile_prices
from tierdeck.core.profiles import Profile
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.charts.palette import FollowsPalette
from tierdeck.gui.charts.series import PALETTE
from tierdeck.gui.views.usage_model import COLUMNS, RANGES, UsageModel, load_usage

REFRESH_S = 30  # slow ticks (1 s each) between re-reads while visible
CHARTS = {  # field -> (title, unit)
    "tokens": ("Tokens (input + output)", "tokens"),
    "requests": ("Requests", "requests"),
    "ttft_ms": ("Mean time to first token", "ms"),
    "cost_usd": ("API cost avoided", "USD"),
}


class UsageView(FollowsPalette, QWidget):
    refreshed = Signal()  # after a model is drawn (tests)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None,
                 clock: UiClock | None = None):
        super().__init__(parent)
        self.runner = runner
        self.prices = None
        self.model: UsageModel | None = None
        self._loading = False
        self._again = False  # a refresh asked for while one was running

        bar = QHBoxLayout()
        self.range_combo = QComboBox()
        for label, _bucket, _back in RANGES:
            self.range_combo.addItem(label)
        self.range_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        bar.addWidget(QLabel("Range:"))
        bar.addWidget(self.range_combo)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.refresh_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(130)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        for i, (key, (title, unit)) in enumerate(CHARTS.items()):
            plot = self.graphics.addPlot(row=i // 2, col=i % 2, title=title,
                                         axisItems={"bottom": pg.DateAxisItem()})
            plot.setLabel("left", unit)
            plot.showGrid(x=False, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.setLimits(yMin=0)  # counts, durations and money are never negative
            plot.getAxis("left").enableAutoSIPrefix(False)  # "$0.002", never "USD (x0.001)"
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            self.plots[key] = plot
        self.apply_palette()

        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.table)
        lay.addWidget(self.graphics, 1)
        self._slow_ticks = 0
        (clock or UiClock.shared()).slow.connect(self._on_slow)

    def _on_slow(self) -> None:
        self._slow_ticks += 1
        if self._slow_ticks % REFRESH_S == 0:
            self._tick()

    def set_profile(self, profile: Profile | None) -> None:
        self.prices = profile_prices(profile) if profile is not None else None
        if self.isVisible():
            self.refresh()

    def showEvent(self, e) -> None:  # noqa: N802 - Qt override
        super().showEvent(e)
        self.refresh()

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Read the ledger on a worker; draw when it answers."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.runner.submit("list usage", load_usage, self.range_combo.currentIndex(), self.prices,
                           on_done=self._loaded, on_error=self._failed)

    def _failed(self, msg: str) -> None:
        self._loading = False
        self.summary.setText(f"Cannot read the usage ledger: {msg}")

    def _loaded(self, model: UsageModel) -> None:
        self._loading = False
        self.show_model(model)
        if self._again:
            self._again = False
            self.refresh()

    def show_model(self, m: UsageModel) -> None:
        self.model = m
        self.summary.setText(m.summary)
        self.table.setRowCount(len(m.rows))
        for r, row in enumerate(m.rows):
            for c, text in enumerate(row.cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        for plot in self.plots.values():
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        n = max(1, len(m.tiers))
        width = m.bucket_s * 0.8 / n  # tiers side by side inside each bucket
        for i, tier in enumerate(m.tiers):
            color = PALETTE[i % len(PALETTE)]
            x = m.starts + m.bucket_s * 0.1 + width * (i + 0.5)
            for key, plot in self.plots.items():
                y = m.series[tier][key]
                if key == "ttft_ms":
                    finite = np.isfinite(y)
                    plot.addItem(pg.PlotDataItem(x[finite], y[finite], pen=pg.mkPen(color),
                                                 symbol="o", symbolSize=5, symbolBrush=color,
                                                 name=tier))
                else:
                    plot.addItem(pg.BarGraphItem(x=x, height=y, width=width, name=tier,
                                                 brush=pg.mkBrush(color), pen=pg.mkPen(None)))
        if len(m.starts):
            for plot in self.plots.values():
                plot.setXRange(float(m.starts[0]), float(m.starts[-1]) + m.bucket_s, padding=0.02)
        self.refreshed.emit()
