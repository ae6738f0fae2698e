"""Cheaper pyqtgraph items for live charts: a curve told its bounds, axes that stay put.

FastCurve is a PlotCurveItem that is told its bounds instead of searching its data for them.

pyqtgraph recomputes a curve's bounding rect (nanmin/nanmax over x and y) on every frame in
which the view range or the data moved, and a live chart moves every second. The charts
already know the bounds when they hand the data over (time runs left to right; the y range
is computed once for the axis), so they pass them along.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


class FastCurve(pg.PlotCurveItem):
    def set_series(self, t: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
        """Set the data (t ascending); NaN rows become gaps. Returns y's (min, max), None
        when nothing is drawn."""
        finite = np.isfinite(y)
        self._poly = None
        if not len(t) or not finite.any():
            self._bounds = ((None, None), (None, None))
            self.setData([], [])
            return None
        yf = y if finite.all() else y[finite]
        self._bounds = ((float(t[0]), float(t[-1])), (float(yf.min()), float(yf.max())))
        if finite.all():
            self.setData(t, y, skipFiniteCheck=True)
            self._poly = pg.functions.arrayToQPolygonF(t, y)
        else:
            # A server that was down leaves a gap rather than a line through zero.
            self.setData(t, y, connect="finite")
        return self._bounds[1]

    def paint(self, p, opt, widget):
        """One polyline when there is no gap: Qt's cheapest way to stroke a thin line (no
        QPainterPath to build and flatten on every frame). Gaps: pyqtgraph's own paint."""
        poly = getattr(self, "_poly", None)
        if poly is None:
            return super().paint(p, opt, widget)
        p.setRenderHint(p.RenderHint.Antialiasing, bool(self.opts["antialias"]))
        p.setPen(self.opts["pen"])
        p.drawPolyline(poly)
        return None

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 - pyqtgraph override
        bounds = getattr(self, "_bounds", None)
        if bounds is None or frac < 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        return bounds[ax]


class _Steady:
    """An axis that re-lays out its ticks only when its range really changed: pyqtgraph
    throws the axis picture away on every view change, and an x step would otherwise
    re-render every y axis' text."""

    def setRange(self, mn, mx):  # noqa: N802 - pyqtgraph override
        if self.picture is not None and list(self.range) == [mn, mx]:
            return
        super().setRange(mn, mx)


class SteadyAxis(_Steady, pg.AxisItem):
    pass


class SteadyDateAxis(_Steady, pg.DateAxisItem):
    pass
