"""Live charts of a MetricsStore: tokens/s, memory, busy slots, GPU utilization.

Sampling and drawing are decoupled: the sampler thread only appends to the store; on each
fast tick of the window's UI clock the widget checks the store's version (the dirty flag) and
redraws at most `redraw_ms` apart. The widget reads the store only on the UI thread.

Read at a glance: y axes start at zero with round tops and no SI-prefix scaling (scale.py);
a chart this machine has no data for (GPU utilization without a GPU) is left out of the
layout; memory switches to a log axis when tiers are small next to the device limit; start,
swap, crash and restart are marked on the time axis, with the reason on hover (markers.py).
Redraw cost: curves are peak-decimated to the chart's width, axis ranges change only when
their nice top does, and only the bottom chart draws a time axis.

Background, axes, titles and legend text follow the widget's palette (pyqtgraph's own default
is white on black), and follow it again whenever the palette changes (a theme switch).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.metrics.store import MetricsStore, Window
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.charts.curve import FastCurve, SteadyAxis, SteadyDateAxis
from tierdeck.gui.charts.markers import Marker, MarkerLog
from tierdeck.gui.charts.overlays import TimeOverlays
from tierdeck.gui.charts.palette import FollowsPalette
from tierdeck.gui.charts.scale import (
    auto_window,
    buckets_for,
    label_positions,
    log_y_range,
    peak_decimate_rows,
    x_step,
    y_range,
)
from tierdeck.gui.charts.series import (
    CHARTS,
    DEVICE_COLOR,
    LIMIT_COLOR,
    MEMORY,
    PALETTE,
    TOKENS,
    UTIL,
    Curve,
    curves_for,
)

WINDOWS = [("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0)]
AUTO = 0.0  # window "since start": from the first sample to now
MEMORY_MODES = [("auto", "Memory: auto scale"), ("linear", "Memory: linear"),
                ("log", "Memory: log scale"), ("tiers", "Memory: tiers only")]
LOG_RATIO = 20  # auto: a log axis when the smallest tier is this many times below the limit
REDRAW_MS = 250
LEFT_AXIS_PX = 56
CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache  # the same for every chart, so their time axes line up


class ChartsWidget(TimeOverlays, FollowsPalette, QWidget):
    redrawn = Signal()  # after each redraw (tests, screenshot tools)
    exported = Signal(str, str)  # (path, error or ""), after export_csv finishes

    def __init__(self, store: MetricsStore, parent: QWidget | None = None, *,
                 redraw_ms: int = REDRAW_MS, window_s: float = AUTO,
                 clock: UiClock | None = None):
        super().__init__(parent)
        self.store = store
        self._window_s = float(window_s)  # AUTO or a fixed length
        self._shown_s = self._window_s or 60.0  # the length drawn last
        self.memory_mode = "auto"
        self._log_memory = False
        self.markers = MarkerLog()
        self._marker_items: list[tuple[Marker, list[pg.InfiniteLine]]] = []
        self._visible: list[str] = []
        self._paused = False
        self._drawn_version = -1
        self._drawn: Window | None = None
        self._colors: dict[str, tuple[int, int, int]] = {}
        self._items: dict[str, FastCurve | pg.InfiniteLine] = {}
        self._curves: dict[str, Curve] = {}
        self._build()
        self._redraw_s = redraw_ms / 1000
        self._last_redraw = 0.0
        self.clock = clock or UiClock.shared()
        self.clock.fast.connect(self._on_timer)

    # --- construction ------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the charts; sampling goes on in the background")
        self.pause_button.toggled.connect(self.set_paused)
        self.window_combo = QComboBox()
        self.window_combo.addItem("Since start", AUTO)
        for label, seconds in WINDOWS:
            self.window_combo.addItem(label, seconds)
        self.window_combo.setToolTip("How much history the charts show")
        self.window_combo.setCurrentIndex(self._window_index(self._window_s))
        self.window_combo.currentIndexChanged.connect(
            lambda i: self.set_window_seconds(float(self.window_combo.itemData(i)))
        )
        self.memory_combo = QComboBox()
        for key, label in MEMORY_MODES:
            self.memory_combo.addItem(label, key)
        self.memory_combo.setToolTip("A log axis keeps a small tier readable next to the device limit")
        self.memory_combo.currentIndexChanged.connect(
            lambda i: self.set_memory_mode(self.memory_combo.itemData(i)))
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setWordWrap(True)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save every buffered sample (up to the last hour) as CSV")
        self.export_button.clicked.connect(self._ask_export)
        self.exported.connect(self._on_exported)
        bar.addWidget(self.pause_button)
        bar.addWidget(QLabel("Window:"))
        bar.addWidget(self.window_combo)
        bar.addWidget(self.memory_combo)
        bar.addStretch(1)
        bar.addWidget(self.export_button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        self._cursors: list[pg.InfiniteLine] = []
        for chart, (title, unit) in CHARTS.items():
            plot = pg.PlotItem(title=title, axisItems={"bottom": SteadyDateAxis(orientation="bottom"),
                                                       "left": SteadyAxis(orientation="left")})
            plot.setLabel("left", unit)
            left = plot.getAxis("left")
            left.enableAutoSIPrefix(False)  # never "t/s (x0.001)"
            left.setWidth(LEFT_AXIS_PX)
            # No grid: the axis repaints it across the whole chart on every frame (a third
            # of the paint time), and round axis tops already read well.
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)  # the x range follows the newest sample
            plot.hideButtons()
            plot.disableAutoRange()  # ranges come from scale.py, once per redraw
            plot.setYRange(0, 1, padding=0)
            legend = plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            legend.setCacheMode(CACHED)  # its translucent background is a blend per frame
            # Text is most of a frame's paint (software glyphs): static text is painted once
            # into a pixmap and blitted until it changes.
            for item in (plot.titleLabel.item, left, left.label, plot.getAxis("bottom")):
                item.setCacheMode(CACHED)
            # Not x-linked: _apply_x_range sets every plot's range itself, once per redraw.
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128)))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self._cursors.append(cursor)
            self.plots[chart] = plot
        self._relayout([c for c in CHARTS if c != UTIL])  # utilization joins once reported
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.apply_palette()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.readout)
        lay.addWidget(self.graphics, 1)

    def _window_index(self, seconds: float) -> int:
        """Combo row of a window length (row 0 is "Since start")."""
        if seconds == AUTO:
            return 0
        return 1 + min(range(len(WINDOWS)), key=lambda i: abs(WINDOWS[i][1] - seconds))

    def _relayout(self, charts: list[str]) -> None:
        """Put exactly these charts in the layout, top to bottom; only the last one draws the
        time axis (they share it). A chart left out takes no space at all."""
        if charts == self._visible:
            return
        for chart in self._visible:
            self.graphics.ci.removeItem(self.plots[chart])
        for row, chart in enumerate(charts):
            plot = self.plots[chart]
            self.graphics.ci.addItem(plot, row=row, col=0)
            plot.showAxis("bottom", show=row == len(charts) - 1)
        self._visible = list(charts)

    def shown_charts(self) -> list[str]:
        return list(self._visible)

    # --- public controls ---------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self.set_paused(True)

    def resume(self) -> None:
        self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused:
            self._drawn_version = -1  # catch up at once

    @property
    def window_seconds(self) -> float:
        """The length of time drawn (in "Since start" mode: as of the last redraw)."""
        return self._window_s or self._shown_s

    @property
    def auto_window(self) -> bool:
        return self._window_s == AUTO

    def set_window_seconds(self, seconds: float) -> None:
        """A fixed window length, or AUTO (0): from the first sample to now."""
        self._window_s = float(seconds)
        if seconds != AUTO:
            self._shown_s = float(seconds)
        i = self._window_index(seconds)
        if self.window_combo.currentIndex() != i and self.window_combo.itemData(i) == seconds:
            self.window_combo.blockSignals(True)
            self.window_combo.setCurrentIndex(i)
            self.window_combo.blockSignals(False)
        # A longer window needs older rows; a paused chart shows its frozen data only.
        self._drawn_version = -1
        if self._paused and self._drawn is not None:
            self._apply_x_range(self._drawn)

    def set_memory_mode(self, mode: str) -> None:
        """auto | linear | log | tiers (tiers only: no device curves, a linear axis)."""
        self.memory_mode = mode
        i = self.memory_combo.findData(mode)
        if i >= 0 and self.memory_combo.currentIndex() != i:
            self.memory_combo.blockSignals(True)
            self.memory_combo.setCurrentIndex(i)
            self.memory_combo.blockSignals(False)
        self._drawn_version = -1
        if self._drawn is not None and not self._paused:
            self.redraw()

    def set_redraw_interval(self, ms: int) -> None:
        """The shortest time between two redraws (the clock's fast tick is the floor)."""
        self._redraw_s = ms / 1000

    def curve(self, key: str) -> FastCurve | pg.InfiniteLine | None:
        """The item drawing a store series (tests, embedding widgets)."""
        return self._items.get(key)

    def visible_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.plots[next(iter(self.plots))].viewRange()
        return x0, x1

    def _ask_export(self) -> None:
        name = time.strftime("tierdeck-metrics-%Y%m%d-%H%M%S.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", str(Path.home() / name),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> None:
        """Write the store to CSV off the UI thread; `exported` reports the outcome."""
        self.export_button.setEnabled(False)

        def work() -> None:
            try:
                self.store.to_csv(path)
                self.exported.emit(str(path), "")
            except OSError as e:
                self.exported.emit(str(path), e.strerror or str(e))

        threading.Thread(target=work, name="tierdeck-csv-export", daemon=True).start()

    def _on_exported(self, path: str, error: str) -> None:
        self.export_button.setEnabled(True)
        self.readout.setText(f"Could not save {path}: {error}" if error else f"Saved {path}")

    # --- drawing -----------------------------------------------------------------------
    def _on_timer(self) -> None:
        # Hidden (another tab, minimised): draw nothing; the version gap redraws on show.
        if self._paused or not self.isVisible() or self.store.version == self._drawn_version:
            return
        if time.monotonic() - self._last_redraw < self._redraw_s:
            return
        self.redraw()

    def redraw(self) -> None:
        """Read the store once and update every chart (UI thread only)."""
        self._last_redraw = time.monotonic()
        version = self.store.version
        w = self._window_rows()
        self._drawn = w
        self._drawn_version = version
        latest = self.store.latest
        kinds = {str(d.index): d.kind for d in latest.devices} if latest is not None else None
        # A series that is NaN all through the window draws nothing: no curve, no legend row.
        present = [k for k, v in w.series.items() if len(v) and not np.isnan(v).all()]
        wanted = {c.key: c for c in curves_for(present, kinds)
                  if not (self.memory_mode == "tiers" and c.chart == MEMORY and c.owner.startswith("dev/"))}
        for key in list(self._items):
            if key not in wanted:
                item = self._items.pop(key)
                self.plots[self._curves.pop(key).chart].removeItem(item)
        self._relayout([c for c in CHARTS if c != UTIL or any(x.chart == UTIL for x in wanted.values())])
        self._set_memory_log(wanted, w)
        # Every curve decimated in one numpy pass (lines need only their newest value).
        curves = [c for c in wanted.values() if c.style != "line"]
        dec_t, dec_y = peak_decimate_rows(
            w.t, np.vstack([w.series[c.key] * c.scale for c in curves]) if curves else np.empty((0, len(w.t))),
            buckets_for(self.plots[TOKENS].vb.width() or self.graphics.width()))
        rows = {c.key: i for i, c in enumerate(curves)}
        drawn: dict[str, list[np.ndarray]] = {c: [] for c in CHARTS}
        for key, c in wanted.items():
            i = rows.get(key)
            drawn[c.chart].append(self._draw(c, w.t if i is None else dec_t[i],
                                             w.series[key] if i is None else dec_y[i]))
        for chart in self._visible:
            self._apply_y_range(chart, drawn[chart])
        self._apply_x_range(w)
        self.redrawn.emit()

    def _window_rows(self) -> Window:
        if self._window_s != AUTO:
            self._shown_s = self._window_s
            return self.store.window(self._window_s)
        longest = WINDOWS[-1][1]
        w = self.store.window(longest)
        first, last = (float(w.t[0]), float(w.t[-1])) if len(w.t) else (None, None)
        self._shown_s = auto_window(first, last, longest)
        return w

    def _set_memory_log(self, wanted: dict[str, Curve], w: Window) -> None:
        """Log axis for memory: asked for, or (auto) when a tier is tiny next to the limit."""
        log = self.memory_mode == "log"
        if self.memory_mode == "auto":
            tiers = [_last_finite(w.series[k]) for k, c in wanted.items()
                     if c.chart == MEMORY and not c.owner.startswith("dev/")]
            limits = [_last_finite(w.series[k]) for k in wanted if k.endswith("limit_bytes")]
            small = min((v for v in tiers if v), default=None)
            big = max((v for v in limits if v), default=None)
            log = small is not None and big is not None and big > LOG_RATIO * small
        if log != self._log_memory:
            self._log_memory = log
            # Only the axis: the curves get log10 values from _draw (cheaper than pyqtgraph's
            # per-item log transform on every update).
            self.plots[MEMORY].getAxis("left").setLogMode(False, log)

    def _apply_y_range(self, chart: str, arrays: list[np.ndarray]) -> None:
        plot = self.plots[chart]
        if chart == MEMORY and self._log_memory:
            lo, hi = log_y_range(arrays)
        else:
            lo, hi = y_range(chart, arrays)
        # Only when the nice range moved: an unchanged axis keeps its cached picture.
        if plot.viewRange()[1] != [lo, hi]:
            plot.setYRange(lo, hi, padding=0)
        lines = [(k, self._items[k]) for k, c in self._curves.items()
                 if c.chart == chart and c.style == "line" and self._items[k].isVisible()]
        for (_k, line), pos in zip(lines, label_positions([ln.value() for _k, ln in lines], hi - lo),
                                   strict=True):
            if line.label.orthoPos != pos:
                line.label.setPosition(pos)

    def _color(self, owner: str) -> tuple[int, int, int]:
        if owner.startswith("dev/"):
            return DEVICE_COLOR
        if owner not in self._colors:
            self._colors[owner] = PALETTE[len(self._colors) % len(PALETTE)]
        return self._colors[owner]

    def _pen(self, c: Curve):
        color = LIMIT_COLOR if c.key.endswith("limit_bytes") else self._color(c.owner)
        style = Qt.PenStyle.DashLine if c.style in ("dash", "line") else Qt.PenStyle.SolidLine
        return pg.mkPen(color, width=c.width, style=style)

    def _draw(self, c: Curve, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Update one curve (t, y already decimated and in the chart's unit) or line (its
        raw series); returns the lowest and highest value drawn (in the chart's unit, never
        log10), for the axis range."""
        plot = self.plots[c.chart]
        item = self._items.get(c.key)
        log = c.chart == MEMORY and self._log_memory
        if c.style == "line":
            last = _last_finite(y)
            if item is None:
                # Labels sit right-aligned above their line: the legend owns the top left.
                item = pg.InfiniteLine(angle=0, movable=False, pen=self._pen(c), label=c.label,
                                       labelOpts={"position": 0.98, "anchors": [(1, 0), (1, 1)],
                                                  "color": self._pen(c).color()})
                plot.addItem(item)
                item.label.textItem.setCacheMode(CACHED)
                self._items[c.key], self._curves[c.key] = item, c
            shown = last is not None and (not log or last > 0)
            item.setVisible(shown)
            if shown:
                v = last * c.scale
                item.setValue(math.log10(v) if log else v)  # a log axis is in log10 units
                return np.array([v])
            return np.array([], dtype=float)
        if item is None:
            item = FastCurve(pen=self._pen(c), name=c.label)
            plot.addItem(item)
            for _sample, label in plot.legend.items:
                label.item.setCacheMode(CACHED)
            self._items[c.key], self._curves[c.key] = item, c
        tt, yy = t, y
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                # the axis is in log10 units; log10(0) is no point at all: leave a gap
                span = item.set_series(tt, np.where(yy > 0, np.log10(yy), np.nan))
            return np.power(10.0, span) if span is not None else np.array([], dtype=float)
        span = item.set_series(tt, yy)
        return np.array(span) if span is not None else np.array([], dtype=float)

    def _apply_x_range(self, w: Window) -> None:
        """The right edge follows the newest sample in steps of about two pixels (a second
        is a third of a pixel on a 1-hour chart): between steps the axes stay as they are."""
        end = float(w.t[-1]) if len(w.t) else time.time()
        step = x_step(self._shown_s, self.graphics.width())
        end = math.ceil(end / step) * step
        for plot in self.plots.values():
            if plot.viewRange()[0] != [end - self._shown_s, end]:
                plot.setXRange(end - self._shown_s, end, padding=0)

def _last_finite(y: np.ndarray) -> float | None:
    idx = np.flatnonzero(np.isfinite(y))
    return float(y[idx[-1]]) if len(idx) else None
