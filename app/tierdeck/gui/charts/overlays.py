"""What the charts show over time besides the curves: event markers and the hover readout.

A mixin of ChartsWidget (it uses the widget's plots, drawn window, curves and marker log):
markers for start, swap, crash and restart come from the supervisor's StateChanged events
and carry their reason as a tooltip; the readout lists every drawn value at the pointer's
time, and the markers near it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from tierdeck.core.servers.events import StateChanged
from tierdeck.gui.charts.markers import MARKER_COLORS, Marker
from tierdeck.gui.charts.series import fmt_value


class TimeOverlays:
    def add_event(self, ev: object) -> Marker | None:
        """A supervisor event (UI thread): start, swap, crash and restart become markers."""
        if not isinstance(ev, StateChanged):
            return None
        m = self.markers.on_state(ev.profile, ev.tier, ev.state, ev.previous, ev.reason, time.time())
        if m is not None:
            self._add_marker_items(m)
        return m

    def _add_marker_items(self, m: Marker) -> None:
        pen = pg.mkPen(MARKER_COLORS.get(m.kind, (128, 128, 128)), width=1,
                       style=Qt.PenStyle.DashLine)
        lines = []
        for plot in self.plots.values():
            line = pg.InfiniteLine(pos=m.t, angle=90, movable=False, pen=pen)
            line.setToolTip(m.text)  # the reason, on hover
            plot.addItem(line, ignoreBounds=True)
            lines.append(line)
        self._marker_items.append((m, lines))
        while len(self._marker_items) > self.markers.keep:
            _old, gone = self._marker_items.pop(0)
            for plot, line in zip(self.plots.values(), gone, strict=True):
                plot.removeItem(line)

    def marker_lines(self, chart: str) -> list[pg.InfiniteLine]:
        i = list(self.plots).index(chart)
        return [lines[i] for _m, lines in self._marker_items]

    def _on_mouse_moved(self, event) -> None:
        pos = event[0] if isinstance(event, tuple | list) else event
        for chart in self._visible:
            plot = self.plots[chart]
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
        # markers within a pixel or two of the pointer: what happened there, and why
        parts += [f"⚑ {m.text}" for m in self.markers.near(x, self._shown_s / 300)]
        return "   ".join(parts)
