"""Requests/s and output tokens/s per tier as the gateway sees them.

Tiers that share one engine share one llama-server /metrics, so the server charts cannot
tell them apart; the gateway can. Snapshots go into a MetricsStore ring (O(1) appends); a
timer redraws only when the store moved and the widget is visible. Hidden while no gateway
runs: an empty chart says nothing.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tierdeck.core.gateway.watch import GatewaySnapshot
from tierdeck.core.metrics.store import MetricsStore
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.charts.palette import FollowsPalette
from tierdeck.gui.charts.series import PALETTE

FIELDS = {"req_ps": ("Requests/s per tier (gateway)", "req/s"),
          "tps": ("Output tokens/s per tier (gateway)", "t/s")}


def snapshot_values(snap: GatewaySnapshot) -> dict[str, float]:
    """Store series of one snapshot: gw/<tier>/req_ps and gw/<tier>/tps."""
    out: dict[str, float] = {}
    for name, t in snap.tiers.items():
        out[f"gw/{name}/req_ps"] = float("nan") if t.requests_per_s is None else t.requests_per_s
        out[f"gw/{name}/tps"] = t.tokens_per_s
    return out


class GatewayCharts(FollowsPalette, QWidget):
    redrawn = Signal()

    def __init__(self, store: MetricsStore | None = None, parent: QWidget | None = None, *,
                 window_s: float = 600.0, clock: UiClock | None = None):
        super().__init__(parent)
        self.store = store or MetricsStore()
        self.window_s = window_s
        self._drawn_version = -1
        self._items: dict[str, pg.PlotDataItem] = {}
        self._colors: dict[str, tuple[int, int, int]] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(220)
        self.plots: dict[str, pg.PlotItem] = {}
        for col, (key, (title, unit)) in enumerate(FIELDS.items()):
            plot = self.graphics.addPlot(row=0, col=col, title=title,
                                         axisItems={"bottom": pg.DateAxisItem()})
            plot.setLabel("left", unit)
            plot.setLimits(yMin=0)  # rates are never negative
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.setClipToView(True)
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            self.plots[key] = plot
        self.apply_palette()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.setVisible(False)
        (clock or UiClock.shared()).fast.connect(self._on_timer)  # the window's one clock

    def add_snapshot(self, snap: GatewaySnapshot) -> None:
        """UI thread: remember one poll; show the charts only while a gateway answers."""
        if snap.running and not snap.error:
            self.store.append(snap.t, snapshot_values(snap))
        self.setVisible(snap.running)

    def _on_timer(self) -> None:
        if self.isVisible() and self.store.version != self._drawn_version:
            self.redraw()

    def redraw(self) -> None:
        self._drawn_version = self.store.version
        w = self.store.window(self.window_s)
        for key, y in w.series.items():
            _gw, tier, field = key.split("/")
            item = self._items.get(key)
            if item is None:
                color = self._colors.setdefault(tier, PALETTE[len(self._colors) % len(PALETTE)])
                item = pg.PlotDataItem(pen=pg.mkPen(color), name=tier)
                self.plots[field].addItem(item)
                self._items[key] = item
            item.setData(w.t, y, connect="finite")
        if len(w.t):
            for plot in self.plots.values():
                plot.setXRange(float(w.t[-1]) - self.window_s, float(w.t[-1]), padding=0)
        self.redrawn.emit()
