"""The Usage tab draws what the ledger holds: a pytest-qt flow on a real ledger file."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg

from tests.core.gateway.test_ledger import rec
from tierdeck.core.gateway.ledger import Ledger
from tierdeck.gui.views.usage_model import RANGES, usage_model


def test_usage_tab_shows_the_recorded_requests(window, qtbot):
    led = Ledger()
    now = time.time()
    for i in range(3):
        led.record(rec("haiku", ts=now - 60 * i, prompt=1000, completion=200, ttft=30.0 + i))
    led.record(rec("sonnet", ts=now - 2 * 3600, prompt=4000, completion=1000, ttft=80.0))
    assert led.flush(10)
    led.close()

    view = window.usage
    with qtbot.waitSignal(view.refreshed, timeout=10000):
        window.tabs.setCurrentWidget(view)  # shown: reads the ledger on a worker
    cells = {view.table.item(r, 0).text(): [view.table.item(r, c).text() for c in range(6)]
             for r in range(view.table.rowCount())}
    assert cells["haiku"][1:5] == ["3", "3,000", "600", "31 ms"]
    assert cells["sonnet"][1:3] == ["1", "4,000"]
    assert cells["haiku"][5] == "$0.01" and "API cost avoided: $0.03" in view.summary.text()
    # Each chart has one item per tier; the tokens bars add up to what was recorded.
    bars = [i for i in view.plots["tokens"].items if isinstance(i, pg.BarGraphItem)]
    assert sum(float(np.sum(b.opts["height"])) for b in bars) == 3 * 1200 + 5000
    ttft = [i for i in view.plots["ttft_ms"].items if isinstance(i, pg.PlotDataItem)]
    assert len(ttft) == 2

    # A new request shows after a refresh; the daily range keeps the same totals.
    led = Ledger()
    led.record(rec("haiku", prompt=10, completion=10))
    assert led.flush(10)
    led.close()
    with qtbot.waitSignal(view.refreshed, timeout=10000):
        view.range_combo.setCurrentIndex(len(RANGES) - 1)
    assert view.model.bucket == "day"
    assert {r.tier: r.requests for r in view.model.rows} == {"haiku": 4, "sonnet": 1}


def test_usage_model_aligns_tiers_on_one_axis():
    from tierdeck.core.gateway.ledger import Bucket

    b = [Bucket(0.0, "haiku", 2, 0, 100, 0, 10, 20.0, 1.0, 0.5),
         Bucket(3600.0, "sonnet", 1, 1, 50, 0, 5, None, 1.0, 0.25)]
    m = usage_model(b, "hour")
    assert list(m.starts) == [0.0, 3600.0] and m.tiers == ["haiku", "sonnet"]
    assert list(m.series["haiku"]["tokens"]) == [110.0, 0.0]
    assert np.isnan(m.series["sonnet"]["ttft_ms"]).all()
    assert [r.cells for r in m.rows] == [["haiku", "2", "100", "10", "20 ms", "$0.50"],
                                         ["sonnet", "1", "50", "5", "—", "$0.25"]]
    assert usage_model([], "day").summary.startswith("No requests")
