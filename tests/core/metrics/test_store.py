"""Ring buffers: flat memory, ordered windows, CSV, one writer thread + one reader thread."""

from __future__ import annotations

import csv
import math
import threading

import numpy as np
import pytest

from tierdeck.core.metrics import MetricsStore, Sample, ServerSample


def test_wraps_at_capacity_and_keeps_newest_rows_in_order():
    st = MetricsStore(capacity=5)
    for i in range(12):
        st.append(float(i), {"a": float(i)})
    w = st.window()
    assert len(st) == 5 and len(w) == 5
    assert w.t.tolist() == [7, 8, 9, 10, 11]
    assert w.series["a"].tolist() == [7, 8, 9, 10, 11]
    assert st.last("a") == 11
    assert st.version == 12


def test_window_by_seconds():
    st = MetricsStore(capacity=100)
    for i in range(50):
        st.append(1000.0 + i, {"a": float(i)})
    w = st.window(10)
    assert w.t[0] == 1039 and w.t[-1] == 1049
    assert len(st.window(None)) == 50


def test_missing_values_are_nan_and_late_series_are_backfilled():
    st = MetricsStore(capacity=10)
    st.append(1.0, {"a": 1.0})
    st.append(2.0, {"a": 2.0, "b": 5.0})
    st.append(3.0, {"b": 6.0})
    w = st.window()
    assert np.isnan(w.series["b"][0]) and w.series["b"][1:].tolist() == [5, 6]
    assert np.isnan(w.series["a"][2])
    assert st.last("a") is None


def test_series_gone_for_a_whole_buffer_are_dropped():
    st = MetricsStore(capacity=4)
    st.append(0.0, {"old": 1.0, "keep": 1.0})
    for i in range(1, 9):
        st.append(float(i), {"keep": 1.0})
    assert st.keys() == ["keep"]


def test_wall_clock_stepping_back_keeps_time_sorted():
    st = MetricsStore(capacity=10)
    st.append(100.0, {"a": 1.0})
    st.append(90.0, {"a": 2.0})
    assert st.window().t.tolist() == [100.0, 100.0]


def test_memory_is_flat_over_many_rows():
    st = MetricsStore(capacity=100)
    for i in range(100):
        st.append(float(i), {f"s{k}": 1.0 for k in range(10)})
    names = st.keys()
    sizes = {k: st._cols[k].nbytes for k in names}
    for i in range(100, 5000):
        st.append(float(i), {f"s{k}": 1.0 for k in range(10)})
    assert st.keys() == names
    assert {k: st._cols[k].nbytes for k in names} == sizes
    assert st._t.nbytes == 100 * 8


def test_sample_flattening():
    s = Sample(t=5.0, servers=[ServerSample("haiku", "http://x", 1, "up", gen_tps=12.5,
                                            planned_bytes=1000)], devices=[])
    st = MetricsStore(capacity=10)
    st.add_sample(s)
    assert st.last("srv/haiku/gen_tps") == 12.5
    assert st.last("srv/haiku/planned_bytes") == 1000
    assert st.last("srv/haiku/up") == 1.0
    assert st.last("srv/haiku/prompt_tps") is None
    assert st.latest is s


def test_to_csv(tmp_path):
    st = MetricsStore(capacity=10)
    st.append(1.5, {"srv/a/gen_tps": 3.0})
    st.append(2.5, {"srv/a/gen_tps": float("nan"), "dev/0/used_bytes": 1e9})
    path = st.to_csv(tmp_path / "out" / "m.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["time", "dev/0/used_bytes", "srv/a/gen_tps"]
    assert rows[1] == ["1.500", "", "3"]
    assert rows[2] == ["2.500", "1e+09", ""]


def test_capacity_must_be_sane():
    with pytest.raises(ValueError):
        MetricsStore(capacity=1)


def test_one_writer_one_reader_never_see_a_torn_row():
    """Every row written has b == 2a; a reader must never see a row where that breaks."""
    st = MetricsStore(capacity=257)
    stop = threading.Event()
    errors: list[str] = []

    def write() -> None:
        for i in range(20000):
            st.append(float(i), {"a": float(i), "b": 2.0 * i})
        stop.set()

    def read() -> None:
        while not stop.is_set():
            w = st.window(100)
            a, b = w.series.get("a"), w.series.get("b")
            if a is None:
                continue
            if len(a) != len(w.t) or not np.array_equal(b, 2 * a) or not np.array_equal(a, w.t):
                errors.append("torn window")
                return
            if len(w.t) > 1 and not np.all(np.diff(w.t) > 0):
                errors.append("unordered window")
                return

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert st.last("a") == 19999 and not math.isnan(st.last("b"))

