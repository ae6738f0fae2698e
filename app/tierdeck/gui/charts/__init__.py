"""pyqtgraph charts of the live metrics (tokens/s, memory, busy slots, GPU utilization)."""

from tierdeck.gui.charts.widget import WINDOWS, ChartsWidget

__all__ = ["WINDOWS", "ChartsWidget"]
