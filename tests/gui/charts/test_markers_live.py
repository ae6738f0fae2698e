"""Markers after a real swap: haiku starts (on the demo's haiku+sonnet engine), then `long`
swaps that engine out (real llama-servers on the tiny model); the charts mark both on the
time axis, the reason on hover."""

from __future__ import annotations


def state(window, tier: str) -> str:
    st = window.statuses_of_profile().get(tier)
    return st.state if st else "stopped"


def test_markers_after_a_swap(live, window, qtbot):
    charts = window.charts.charts
    window.activate_tier("haiku")
    qtbot.waitUntil(lambda: state(window, "haiku") == "ready", timeout=60000)
    qtbot.waitUntil(lambda: not window.bridge.is_busy("haiku"), timeout=10000)
    window.activate_tier("long")  # long swaps with the haiku+sonnet engine
    qtbot.waitUntil(lambda: state(window, "long") == "ready", timeout=60000)
    qtbot.waitUntil(lambda: len(charts.markers.markers) >= 2, timeout=10000)
    marks = [(m.kind, m.text) for m in charts.markers.markers]
    assert marks[:2] == [("start", "haiku+sonnet started"), ("swap", "swap haiku+sonnet → long")]
    swap = charts.markers.markers[1]
    lines = charts.marker_lines("tokens")
    assert [ln.value() for ln in lines][:2] == [m.t for m in charts.markers.markers[:2]]
    assert lines[1].toolTip() == "swap haiku+sonnet → long"
    window.tabs.setCurrentWidget(window.charts)
    qtbot.waitUntil(lambda: charts._drawn is not None and len(charts._drawn.t) > 0, timeout=20000)
    assert "⚑ swap haiku+sonnet → long" in charts.show_readout(swap.t)
