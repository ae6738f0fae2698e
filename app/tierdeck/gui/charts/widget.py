"""Live charts of a MetricsStore: tokens/s, memory, busy slots, GPU utilization.

Sampling and drawing are decoupled: the sampler thread only appends to the store; on each
fast tick of the window's UI clock the widget checks the store's version (the dirty flag) and
redraws at most `redraw_ms` apart. The widget reads the store only on the UI thread.

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
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.metrics.store import MetricsStore, Window
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.charts.series import (
    CHARTS,
    DEVICE_COLOR,
    LIMIT_COLOR,
    PALETTE,
    SLOTS,
    UTIL,
    Curve,
    curves_for,
    fmt_value,
)

WINDOWS = [("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0)]
REDRAW_MS = 250


class ChartsWidget(QWidget):
    redrawn = Signal()  # after each redraw (tests, screenshot tools)
    exported = Signal(str, str)  # (path, error or ""), after export_csv finishes
    _coloured = False  # a class default: palette events can come before _build has run

    def __init__(self, store: MetricsStore, parent: QWidget | None = None, *,
                 redraw_ms: int = REDRAW_MS, window_s: float = 600.0,
                 clock: UiClock | None = None):
        super().__init__(parent)
        self.store = store
        self._window_s = float(window_s)
        self._paused = False
        self._drawn_version = -1
        self._drawn: Window | None = None
        self._colors: dict[str, tuple[int, int, int]] = {}
        self._items: dict[str, pg.PlotDataItem | pg.InfiniteLine] = {}
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
        for label, seconds in WINDOWS:
            self.window_combo.addItem(label, seconds)
        self.window_combo.setToolTip("How much history the charts show")
        self.window_combo.setCurrentIndex(self._window_index(self._window_s))
        self.window_combo.currentIndexChanged.connect(
            lambda i: self.set_window_seconds(float(self.window_combo.itemData(i)))
        )
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
        bar.addStretch(1)
        bar.addWidget(self.export_button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        self._cursors: list[pg.InfiniteLine] = []
        for row, (chart, (title, unit)) in enumerate(CHARTS.items()):
            plot = self.graphics.addPlot(
                row=row, col=0, title=title, axisItems={"bottom": pg.DateAxisItem()}
            )
            plot.setLabel("left", unit)
            plot.showGrid(x=False, y=True, alpha=0.2)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)  # the x range follows the newest sample
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            plot.enableAutoRange(axis="y", enable=True)
            if chart == SLOTS:
                plot.setLimits(yMin=0)
            # Not x-linked: _apply_x_range sets every plot's range itself, once per redraw.
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128)))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self._cursors.append(cursor)
            self.plots[chart] = plot
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.apply_palette()
        self._coloured = True

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.readout)
        lay.addWidget(self.graphics, 1)

    def _window_index(self, seconds: float) -> int:
        return min(range(len(WINDOWS)), key=lambda i: abs(WINDOWS[i][1] - seconds))

    # --- colours -----------------------------------------------------------------------
    def apply_palette(self, palette: QPalette | None = None) -> None:
        """Colour the charts from a palette (by default the widget's own): Base behind the
        plots, Text for axes, ticks, titles and legend. Called again on every palette change."""
        pal = palette if palette is not None else self.palette()
        bg = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.Text)
        legend_bg = QColor(bg)
        legend_bg.setAlpha(200)  # curves stay visible under the legend, its text stays readable
        self.graphics.setBackground(bg)
        for plot in self.plots.values():
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(fg)  # axis line, ticks and (at the grid's alpha) grid lines
                axis.setTextPen(fg)  # tick labels and the unit label
            plot.titleLabel.setAttr("color", fg)
            plot.titleLabel.setText(plot.titleLabel.text)
            legend = plot.legend
            if legend is not None:
                legend.setBrush(legend_bg)
                legend.setLabelTextColor(fg)
                for _sample, label in legend.items:
                    label.setText(label.text)  # setLabelTextColor does not re-render them

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802 - Qt override
        if e.type() == QEvent.Type.PaletteChange and self._coloured:
            self.apply_palette()
        super().changeEvent(e)

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
        return self._window_s

    def set_window_seconds(self, seconds: float) -> None:
        self._window_s = float(seconds)
        i = self._window_index(seconds)
        if self.window_combo.currentIndex() != i and WINDOWS[i][1] == seconds:
            self.window_combo.blockSignals(True)
            self.window_combo.setCurrentIndex(i)
            self.window_combo.blockSignals(False)
        # A longer window needs older rows; a paused chart shows its frozen data only.
        self._drawn_version = -1
        if self._paused and self._drawn is not None:
            self._apply_x_range(self._drawn)

    def set_redraw_interval(self, ms: int) -> None:
        """The shortest time between two redraws (the clock's fast tick is the floor)."""
        self._redraw_s = ms / 1000

    def curve(self, key: str) -> pg.PlotDataItem | pg.InfiniteLine | None:
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
        w = self.store.window(self._window_s)
        self._drawn = w
        self._drawn_version = version
        latest = self.store.latest
        kinds = {str(d.index): d.kind for d in latest.devices} if latest is not None else None
        # A series that is NaN all through the window draws nothing: no curve, no legend row.
        present = [k for k, v in w.series.items() if len(v) and not np.isnan(v).all()]
        wanted = {c.key: c for c in curves_for(present, kinds)}
        for key in list(self._items):
            if key not in wanted:
                item = self._items.pop(key)
                self.plots[self._curves.pop(key).chart].removeItem(item)
        for key, c in wanted.items():
            self._draw(c, w.t, w.series[key])
        has_util = any(c.chart == UTIL for c in wanted.values())
        self.plots[UTIL].setTitle(CHARTS[UTIL][0] + ("" if has_util else " (not reported here)"))
        self._apply_x_range(w)
        self.redrawn.emit()

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

    def _draw(self, c: Curve, t: np.ndarray, y: np.ndarray) -> None:
        plot = self.plots[c.chart]
        item = self._items.get(c.key)
        if c.style == "line":
            last = _last_finite(y)
            if item is None:
                # Labels sit right-aligned above their line: the legend owns the top left.
                item = pg.InfiniteLine(angle=0, movable=False, pen=self._pen(c), label=c.label,
                                       labelOpts={"position": 0.98, "anchors": [(1, 0), (1, 1)],
                                                  "color": self._pen(c).color()})
                plot.addItem(item)
                self._items[c.key], self._curves[c.key] = item, c
            item.setVisible(last is not None)
            if last is not None:
                item.setValue(last * c.scale)
            return
        if item is None:
            item = pg.PlotDataItem(pen=self._pen(c), name=c.label)
            plot.addItem(item)  # takes the plot's clip-to-view and peak downsampling
            self._items[c.key], self._curves[c.key] = item, c
        yy = y * c.scale if c.scale != 1.0 else y
        finite = np.isfinite(yy)
        if finite.all():
            item.setData(t, yy, skipFiniteCheck=True)
        elif finite.any():
            # A server that was down leaves a gap rather than a line through zero.
            item.setData(t, yy, connect="finite")
        else:
            item.setData([], [])

    def _apply_x_range(self, w: Window) -> None:
        end = float(w.t[-1]) if len(w.t) else time.time()
        for plot in self.plots.values():
            plot.setXRange(end - self._window_s, end, padding=0)

    # --- hover readout -----------------------------------------------------------------
    def _on_mouse_moved(self, event) -> None:
        pos = event[0] if isinstance(event, tuple | list) else event
        for chart, plot in self.plots.items():
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(QPointF(pos)).x()
                self.show_readout(x, chart)
                return

    def show_readout(self, x: float, chart: str | None = None) -> str:
        """Show the values at time x (of one chart, or of all) and a cursor line on every chart."""
        text = self.readout_at(x, chart)
        self.readout.setText(text)
        for cursor in self._cursors:
            cursor.setPos(x)
            cursor.setVisible(bool(text))
        return text

    def readout_at(self, x: float, chart: str | None = None) -> str:
        """Values of the drawn series (of one chart, or all) at the sample nearest to time x."""
        w = self._drawn
        if w is None or not len(w.t):
            return ""
        i = int(np.clip(np.searchsorted(w.t, x), 0, len(w.t) - 1))
        if i > 0 and abs(w.t[i - 1] - x) < abs(w.t[i] - x):
            i -= 1
        parts = [time.strftime("%H:%M:%S", time.localtime(float(w.t[i])))]
        for key, c in self._curves.items():
            if chart is not None and c.chart != chart:
                continue
            col = w.series.get(key)
            if col is None or i >= len(col) or math.isnan(col[i]):
                continue
            parts.append(f"{c.label}: {fmt_value(c, float(col[i]))}")
        return "   ".join(parts)


def _last_finite(y: np.ndarray) -> float | None:
    idx = np.flatnonzero(np.isfinite(y))
    return float(y[idx[-1]]) if len(idx) else None
