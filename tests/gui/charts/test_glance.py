"""Charts read at a glance: zero-based axes without SI scaling, labels that never overlap,
memory readable next to the device limit, the window that fits the app's run, markers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tierdeck.core.metrics import MetricsStore
from tierdeck.core.servers.events import ServerStatus, StateChanged
from tierdeck.gui.charts import ChartsWidget
from tierdeck.gui.charts.markers import MarkerLog
from tierdeck.gui.charts.scale import (
    MIN_WINDOW_S,
    label_positions,
    nice_ceiling,
    peak_decimate,
    peak_decimate_rows,
)

GiB, MiB = 1024**3, 1024**2
T0 = 1_800_000_000.0


def make(qtbot, rows: list[dict], t0: float = T0) -> ChartsWidget:
    st = MetricsStore(capacity=3600)
    for i, r in enumerate(rows):
        st.append(t0 + i, r)
    w = ChartsWidget(st, redraw_ms=20)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.redraw()
    return w


def idle(i: int) -> dict:
    return {"srv/haiku/gen_tps": 0.0, "srv/haiku/prompt_tps": 0.0, "srv/haiku/slots_busy": 0.0,
            "srv/haiku/actual_bytes": 12 * MiB, "srv/haiku/planned_bytes": 14 * MiB,
            "srv/sonnet/planned_bytes": 15 * MiB, "srv/sonnet/actual_bytes": 13 * MiB,
            "dev/0/used_bytes": 9 * GiB, "dev/0/limit_bytes": 22 * GiB}


def test_idle_axes_start_at_zero_with_no_si_scaling(qtbot):
    w = make(qtbot, [idle(i) for i in range(30)])
    for chart in ("tokens", "slots"):
        lo, hi = w.plots[chart].viewRange()[1]
        assert lo == 0 and hi >= 1, (chart, lo, hi)
        axis = w.plots[chart].getAxis("left")
        assert not axis.autoSIPrefix and "x0.001" not in axis.labelString()
    assert w.plots["tokens"].viewRange()[1] == [0, 10]  # an idle tier: a readable 0-10 t/s


def test_busy_axes_have_round_tops(qtbot):
    w = make(qtbot, [dict(idle(i), **{"srv/haiku/gen_tps": 37.0 + i % 3}) for i in range(30)])
    assert w.plots["tokens"].viewRange()[1] == [0, 50]
    assert [nice_ceiling(v) for v in (0.7, 3.1, 22, 180, 4096)] == [1, 5, 25, 200, 5000]


def test_small_tiers_get_a_log_memory_axis_next_to_the_limit(qtbot):
    w = make(qtbot, [idle(i) for i in range(30)])
    plot = w.plots["memory"]
    assert plot.getAxis("left").logMode  # 12 MiB tiers under a 22 GiB limit: a log axis
    lo, hi = plot.viewRange()[1]
    assert lo <= math.log10(12 * MiB / GiB) and hi >= math.log10(22)
    limit = w.curve("dev/0/limit_bytes")
    assert limit.value() == pytest.approx(math.log10(22))
    w.set_memory_mode("tiers")  # or just the tiers, on a linear axis
    assert w.curve("dev/0/used_bytes") is None and w.curve("dev/0/limit_bytes") is None
    assert not plot.getAxis("left").logMode
    lo, hi = plot.viewRange()[1]
    assert lo == 0 and hi < 0.1  # GiB: the 12-15 MiB tiers fill the chart
    w.set_memory_mode("linear")
    assert w.curve("dev/0/limit_bytes").value() == pytest.approx(22)


def test_planned_line_labels_never_overlap(qtbot):
    w = make(qtbot, [idle(i) for i in range(30)])
    w.set_memory_mode("tiers")
    a, b = w.curve("srv/haiku/planned_bytes"), w.curve("srv/sonnet/planned_bytes")
    assert a.isVisible() and b.isVisible()
    qtbot.wait(50)  # let the layout settle, as a user's screen would

    def on_screen(label):  # the label ignores the view's scaling: map it as the view paints it
        return label.deviceTransform(w.graphics.viewportTransform()).mapRect(label.boundingRect())

    ra, rb = on_screen(a.label), on_screen(b.label)
    assert ra.width() > 20 and not ra.intersects(rb), (ra, rb)
    assert label_positions([1.0, 1.01, 5.0], span=10) == [0.98, 0.74, 0.98]


def test_window_fits_how_long_the_app_has_run(qtbot):
    w = make(qtbot, [idle(i) for i in range(300)])  # five minutes of samples
    x0, x1 = w.visible_range()
    assert (x0, x1) == (pytest.approx(T0), pytest.approx(T0 + 299))
    assert w.window_combo.currentText() == "Since start"
    short = make(qtbot, [idle(i) for i in range(5)])
    x0, x1 = short.visible_range()
    assert x1 - x0 == pytest.approx(MIN_WINDOW_S)  # a few seconds in: not a sliver


def test_peak_decimation_keeps_spikes_gaps_and_the_newest_row():
    t = np.arange(3600.0)
    y = np.zeros(3600)
    y[1234] = 500.0  # one prompt burst
    y[2000:2010] = np.nan  # the server was down
    y[-1] = 7.0
    tt, yy = peak_decimate(t, y, 300)
    assert len(tt) <= 2 * 300 + 12 and np.all(np.diff(tt) >= 0)
    assert np.nanmax(yy) == 500.0 and np.isnan(yy).any()
    assert (tt[-1], yy[-1]) == (3599.0, 7.0)
    # several series on one time axis in one pass: the same answer per row
    rows_t, rows_y = peak_decimate_rows(t, np.vstack([y, y * 2]), 300)
    assert np.array_equal(rows_t[0], tt) and np.allclose(rows_y[1], yy * 2, equal_nan=True)
    assert peak_decimate_rows(t, np.empty((0, 3600)), 300)[1].shape == (0, 3600)  # no curves


def status(tier: str, state: str) -> ServerStatus:
    return ServerStatus(tier, "demo", state)


def event(tier: str, state: str, previous: str, reason: str = "") -> StateChanged:
    return StateChanged(f"demo/{tier}", tier, "demo", state, previous, reason, status(tier, state))


def test_markers_for_start_swap_crash_and_restart():
    log = MarkerLog()
    steps = [("haiku", "starting", "stopped", "", 0), ("haiku", "ready", "starting", "", 1),
             ("haiku", "stopping", "ready", "", 10), ("haiku", "stopped", "stopping", "", 11),
             ("sonnet", "starting", "stopped", "", 12), ("sonnet", "crashed", "ready", "out of memory", 20),
             ("sonnet", "starting", "crashed", "", 25)]
    for tier, state, prev, reason, t in steps:
        log.on_state("demo", tier, state, prev, reason, T0 + t)
    assert [(m.kind, m.text) for m in log.markers] == [
        ("start", "haiku started"), ("swap", "swap haiku → sonnet"),
        ("crash", "sonnet crashed: out of memory"),
        ("restart", "sonnet restarted after: out of memory")]


def test_markers_on_the_time_axis_with_the_reason_on_hover(qtbot):
    w = make(qtbot, [idle(i) for i in range(30)], t0=1e9)  # times of events are "now"
    m = w.add_event(event("haiku", "crashed", "ready", "CUDA out of memory"))
    assert m is not None and m.kind == "crash"
    assert w.add_event(event("haiku", "ready", "starting")) is None  # not a marker
    lines = w.marker_lines("tokens")
    assert len(lines) == 1 and lines[0].value() == pytest.approx(m.t)
    assert lines[0].toolTip() == "haiku crashed: CUDA out of memory"
    assert "⚑ haiku crashed: CUDA out of memory" in w.readout_at(m.t)
