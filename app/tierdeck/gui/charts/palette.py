"""Colour pyqtgraph plots from a Qt palette, so charts follow the light or dark theme.

Used by the live charts, the gateway charts and the usage charts through FollowsPalette:
coloured once built, and again on every QEvent.PaletteChange (a live theme switch).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette


def colour_plots(graphics: pg.GraphicsLayoutWidget, plots: Iterable[pg.PlotItem],
                 palette: QPalette) -> None:
    """Base behind the plots, Text for axes, ticks, titles and legends."""
    bg = palette.color(QPalette.ColorRole.Base)
    fg = palette.color(QPalette.ColorRole.Text)
    legend_bg = QColor(bg)
    legend_bg.setAlpha(200)  # curves stay visible under the legend, its text stays readable
    graphics.setBackground(bg)
    for plot in plots:
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


def is_palette_change(e: QEvent) -> bool:
    return e.type() == QEvent.Type.PaletteChange


class FollowsPalette:
    """Mixin for a QWidget holding `graphics` and `plots` (name -> PlotItem), listed before
    QWidget: apply_palette() once the plots exist, and again on every live theme switch."""

    _coloured = False  # a class default: palette events can come before the plots exist

    def apply_palette(self, palette: QPalette | None = None) -> None:
        """Colour the plots from a palette (by default the widget's own)."""
        colour_plots(self.graphics, self.plots.values(),
                     palette if palette is not None else self.palette())
        self._coloured = True

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802 - Qt override
        if is_palette_change(e) and self._coloured:
            self.apply_palette()
        super().changeEvent(e)
