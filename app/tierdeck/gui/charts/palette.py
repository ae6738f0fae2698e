"""Colour pyqtgraph plots from a Qt palette, so charts follow the light or dark theme.

Used by the live charts, the gateway charts and the usage charts; each calls it once built
and again on every QEvent.PaletteChange (a live theme switch).
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
