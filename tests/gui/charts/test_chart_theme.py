"""The charts take their colours from the palette, and follow a live theme switch."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from tierdeck.core.metrics import MetricsStore
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.charts import ChartsWidget
from tierdeck.gui.charts.gateway_charts import GatewayCharts
from tierdeck.gui.shell.theme import apply_theme

T0 = 1_800_000_000.0


@pytest.fixture
def app(qapp):
    apply_theme(qapp, "light")
    yield qapp
    apply_theme(qapp, "light")


@pytest.fixture
def charts(qtbot, app) -> ChartsWidget:
    store = MetricsStore(capacity=100)
    for i in range(10):
        store.append(T0 + i, {"srv/haiku/gen_tps": float(i)})
    w = ChartsWidget(store, redraw_ms=20)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.curve("srv/haiku/gen_tps") is not None, timeout=5000)
    return w


def colours(w, chart: str = "tokens", legend: bool = True) -> dict[str, str]:
    plot = w.plots[chart]
    out = {
        "background": w.graphics.backgroundBrush().color().name(),
        "axis": plot.getAxis("left").pen().color().name(),
        "ticks": plot.getAxis("bottom").textPen().color().name(),
        "title": QColor(plot.titleLabel.opts["color"]).name(),
    }
    if legend:
        out["legend"] = QColor(plot.legend.items[0][1].opts["color"]).name()
    return out


def expected(app: QApplication, legend: bool = True) -> dict[str, str]:
    bg = app.palette().color(QPalette.ColorRole.Base).name()
    fg = app.palette().color(QPalette.ColorRole.Text).name()
    return {"background": bg, "axis": fg, "ticks": fg, "title": fg} | ({"legend": fg} if legend else {})


def test_charts_use_the_light_palette_not_black(charts, app):
    assert colours(charts) == expected(app)
    assert QColor(colours(charts)["background"]).lightness() > 200


def test_charts_follow_a_theme_switch(qtbot, charts, app):
    apply_theme(app, "dark")
    qtbot.waitUntil(lambda: colours(charts) == expected(app), timeout=5000)
    assert QColor(colours(charts)["background"]).lightness() < 60
    apply_theme(app, "light")
    qtbot.waitUntil(lambda: colours(charts) == expected(app), timeout=5000)


def test_gateway_and_usage_charts_follow_a_theme_switch_too(qtbot, app):
    from tierdeck.gui.views.usage_view import UsageView

    gateway = GatewayCharts()
    usage = UsageView(TaskRunner())
    for w in (gateway, usage):
        qtbot.addWidget(w)
    views = [(gateway, next(iter(gateway.plots))), (usage, next(iter(usage.plots)))]
    for w, chart in views:
        assert colours(w, chart, legend=False) == expected(app, legend=False)
    apply_theme(app, "dark")
    for w, chart in views:
        qtbot.waitUntil(lambda w=w, c=chart: colours(w, c, legend=False)
                        == expected(app, legend=False), timeout=5000)
