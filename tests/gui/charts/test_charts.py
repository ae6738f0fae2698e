"""ChartsWidget: data in -> curves updated; pause holds; window length; lines; readout."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tierdeck.core.metrics import MetricsStore
from tierdeck.gui.charts import ChartsWidget

GiB = 1024**3
T0 = 1_800_000_000.0


def row(i: int, **extra) -> dict[str, float]:
    r = {
        "srv/haiku/gen_tps": float(i),
        "srv/haiku/prompt_tps": 0.0,
        "srv/haiku/slots_busy": float(i % 2),
        "srv/haiku/actual_bytes": 2.0 * GiB,
        "srv/haiku/planned_bytes": 3.0 * GiB,
        "dev/0/used_bytes": 5.0 * GiB,
        "dev/0/limit_bytes": 23.0 * GiB,
        "dev/0/utilization_pct": 40.0,
    }
    r.update(extra)
    return r


@pytest.fixture
def store() -> MetricsStore:
    st = MetricsStore(capacity=3600)
    for i in range(30):
        st.append(T0 + i, row(i))
    return st


@pytest.fixture
def charts(qtbot, store) -> ChartsWidget:
    w = ChartsWidget(store, redraw_ms=20)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitUntil(lambda: w.curve("srv/haiku/gen_tps") is not None, timeout=5000)
    return w


def ydata(w: ChartsWidget, key: str) -> np.ndarray:
    return w.curve(key).getData()[1]


def test_data_in_curves_updated(qtbot, charts, store):
    assert ydata(charts, "srv/haiku/gen_tps")[-1] == 29
    with qtbot.waitSignal(charts.redrawn, timeout=5000):
        store.append(T0 + 30, row(1234))
    assert ydata(charts, "srv/haiku/gen_tps")[-1] == 1234
    # Memory is drawn in GiB; the device and the server both have curves.
    assert ydata(charts, "srv/haiku/actual_bytes")[-1] == pytest.approx(2.0)
    assert ydata(charts, "dev/0/used_bytes")[-1] == pytest.approx(5.0)
    assert ydata(charts, "dev/0/utilization_pct")[-1] == 40
    assert ydata(charts, "srv/haiku/slots_busy")[-1] == 1234 % 2


def test_planned_size_and_device_limit_are_lines(charts):
    planned = charts.curve("srv/haiku/planned_bytes")
    limit = charts.curve("dev/0/limit_bytes")
    assert planned.value() == pytest.approx(3.0) and planned.isVisible()
    assert limit.value() == pytest.approx(23.0)
    assert planned in charts.plots["memory"].items and limit in charts.plots["memory"].items


def test_new_tier_gets_curves_and_a_gone_one_loses_them(qtbot, charts, store):
    with qtbot.waitSignal(charts.redrawn, timeout=5000):
        store.append(T0 + 30, {"srv/opus/gen_tps": 7.0})
    assert ydata(charts, "srv/opus/gen_tps")[-1] == 7
    # A down server leaves a gap (NaN), not a drop to zero.
    assert np.isnan(ydata(charts, "srv/haiku/gen_tps")[-1])


def test_pause_holds_and_resume_catches_up(qtbot, charts, store):
    charts.pause()
    assert charts.paused and charts.pause_button.isChecked()
    before = ydata(charts, "srv/haiku/gen_tps").copy()
    with qtbot.assertNotEmitted(charts.redrawn, wait=200):
        store.append(T0 + 30, row(999))
        charts._on_timer()  # what the redraw timer does on its next tick
    assert np.array_equal(ydata(charts, "srv/haiku/gen_tps"), before)
    with qtbot.waitSignal(charts.redrawn, timeout=5000):
        charts.pause_button.click()  # the user's way to resume
    assert not charts.paused
    assert ydata(charts, "srv/haiku/gen_tps")[-1] == 999


def test_window_length_changes_visible_range(qtbot, charts, store):
    for i in range(30, 3000):
        store.append(T0 + i, row(i))
    for label, seconds in (("1 min", 60.0), ("1 h", 3600.0), ("10 min", 600.0)):
        with qtbot.waitSignal(charts.redrawn, timeout=5000):
            charts.window_combo.setCurrentIndex(charts.window_combo.findText(label))
        assert charts.window_seconds == seconds
        x0, x1 = charts.visible_range()
        assert x1 == pytest.approx(T0 + 2999)
        assert x1 - x0 == pytest.approx(seconds)
        # Only the rows inside the window are handed to the curves.
        t = charts.curve("srv/haiku/gen_tps").getData()[0]
        assert t[0] >= T0 + 2999 - seconds
    charts.set_window_seconds(60)
    assert charts.window_combo.currentText() == "1 min"


def test_window_change_while_paused_keeps_frozen_data(qtbot, charts, store):
    charts.pause()
    store.append(T0 + 30, row(555))
    charts.set_window_seconds(3600)
    x0, x1 = charts.visible_range()
    assert x1 - x0 == pytest.approx(3600)
    assert ydata(charts, "srv/haiku/gen_tps")[-1] == 29


def test_hover_readout(charts):
    text = charts.show_readout(T0 + 10.2)
    assert "haiku gen: 10.0 t/s" in text
    assert "haiku actual: 2.00 GiB" in text
    assert "device 0 used: 5.00 GiB" in text
    assert charts.readout.text() == text


def test_redraw_while_a_sampler_thread_writes(qtbot, charts, store):
    """The sampler appends from its own thread; the widget reads only on the UI thread."""
    done = threading.Event()

    def write() -> None:
        for i in range(30, 3030):
            store.append(T0 + i, row(i))
        done.set()

    t = threading.Thread(target=write)
    t.start()
    qtbot.waitUntil(done.is_set, timeout=30000)
    t.join()
    with qtbot.waitSignal(charts.redrawn, timeout=5000):
        store.append(T0 + 3030, row(3030))
    y = ydata(charts, "srv/haiku/gen_tps")
    # "since start": every row from the first; peak-decimated to the chart's width, still in
    # order and ending on the newest row as written
    assert y[0] == 0 and y[-1] == 3030 and np.all(np.diff(y) > 0)
    assert len(y) < 3031


def test_export_csv_off_the_ui_thread(qtbot, charts, tmp_path):
    path = tmp_path / "m.csv"
    with qtbot.waitSignal(charts.exported, timeout=10000) as sig:
        charts.export_csv(path)
    assert sig.args == [str(path), ""]
    lines = path.read_text().splitlines()
    assert lines[0].startswith("time,") and "srv/haiku/gen_tps" in lines[0]
    assert len(lines) == 31
    assert charts.export_button.isEnabled() and "Saved" in charts.readout.text()


def test_export_error_is_reported(qtbot, charts, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with qtbot.waitSignal(charts.exported, timeout=10000) as sig:
        charts.export_csv(blocker / "m.csv")  # a file where a folder should be
    assert sig.args[1]
    assert "Could not save" in charts.readout.text()


def test_hidden_widget_does_not_redraw(qtbot, charts, store):
    charts.hide()
    store.append(T0 + 30, row(777))
    with qtbot.assertNotEmitted(charts.redrawn, wait=100):
        charts._on_timer()
    with qtbot.waitSignal(charts.redrawn, timeout=5000):
        charts.show()
    assert ydata(charts, "srv/haiku/gen_tps")[-1] == 777


def test_gpu_box_charts_gpu_memory_not_host_ram(qtbot):
    from tierdeck.core.metrics import DeviceSample, Sample, ServerSample

    st = MetricsStore(capacity=100)
    for i in range(5):
        st.add_sample(Sample(T0 + i, [ServerSample("haiku", "http://x", 1, "up", gen_tps=3.0,
                                                   gpu_bytes=2 * GiB, planned_bytes=3 * GiB)],
                             [DeviceSample(0, "nvidia", "RTX", 24 * GiB, 10 * GiB, 23 * GiB, 55.0),
                              DeviceSample(1, "cpu", "EPYC", 64 * GiB, 20 * GiB, 63 * GiB)]))
    w = ChartsWidget(st, redraw_ms=20)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.curve("dev/0/used_bytes") is not None, timeout=5000)
    assert w.curve("dev/1/used_bytes") is None and w.curve("dev/1/limit_bytes") is None
    assert "GPU 0 used: 10.00 GiB" in w.readout_at(T0 + 4)
    assert w.curve("srv/haiku/rss_bytes") is None  # never charted on its own
    assert ydata(w, "srv/haiku/actual_bytes")[-1] == pytest.approx(2.0)
    assert "util" in w.shown_charts()


def test_a_chart_this_machine_does_not_report_is_hidden_not_empty(qtbot, charts, store):
    assert charts.shown_charts() == ["tokens", "memory", "slots", "util"]
    st = MetricsStore(capacity=10)  # a box without a GPU: no utilization series at all
    st.append(T0, {"srv/a/gen_tps": 1.0, "dev/0/used_bytes": 5.0 * GiB})
    charts.store = st
    charts.redraw()
    assert charts.shown_charts() == ["tokens", "memory", "slots"]
    assert charts.plots["util"].scene() is None  # out of the layout: it takes no space
    # the time axis is drawn once, under the last chart shown
    assert charts.plots["slots"].getAxis("bottom").isVisible()
    assert not charts.plots["tokens"].getAxis("bottom").isVisible()
    charts.store = store
    charts.redraw()
    assert charts.shown_charts()[-1] == "util" and charts.plots["util"].isVisible()


def test_hover_over_one_chart_reads_that_chart(charts):
    text = charts.show_readout(T0 + 12, "memory")
    assert "haiku actual: 2.00 GiB" in text and "t/s" not in text
    plot = charts.plots["tokens"]
    center = plot.vb.mapViewToScene(plot.vb.viewRect().center())
    charts._on_mouse_moved((center,))
    assert "t/s" in charts.readout.text() and "GiB" not in charts.readout.text()
