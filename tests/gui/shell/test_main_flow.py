"""The main user flow on a real llama-server and the tiny demo model."""

from __future__ import annotations

import math
import os
import signal

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer


def state(window, tier: str) -> str:
    st = window.statuses_of_profile().get(tier)
    return st.state if st else "stopped"


def card_state(window, tier: str) -> str:
    m = window.tiers.cards[tier].model
    return m.state if m else ""


def test_start_swap_watch_and_stop(live, window, qtbot):
    haiku = window.tiers.cards["haiku"]
    assert haiku.primary.text() == "Start"
    haiku.primary.click()
    qtbot.waitUntil(lambda: card_state(window, "haiku") == "ready", timeout=60000)
    assert window.tiers.cards["haiku"].state.text().startswith("ready on :")
    # the load log's memory lines are parsed: the card shows loaded next to planned
    qtbot.waitUntil(lambda: "loaded" in window.tiers.cards["haiku"].memory.text(), timeout=10000)
    assert haiku.stop_button.isVisible()
    # sonnet shares haiku's engine: it is up too, on the same server
    qtbot.waitUntil(lambda: card_state(window, "sonnet") == "ready")
    mine = window.statuses_of_profile()
    assert mine["sonnet"].pid == mine["haiku"].pid
    # the long card now offers a swap (it swaps with the haiku+sonnet engine)
    long = window.tiers.cards["long"]
    qtbot.waitUntil(lambda: long.primary.text() == "Swap to")
    assert window.tiers.cards["scratch"].primary.text() == "Start"  # co-resident, not a swap

    long.primary.click()
    qtbot.waitUntil(lambda: card_state(window, "long") == "ready", timeout=60000)
    qtbot.waitUntil(lambda: card_state(window, "haiku") == "stopped", timeout=30000)
    assert card_state(window, "sonnet") == "stopped"

    # the log tab follows the selected server, with its exact command line
    window.tiers.select("long")
    assert "llama-server" in window.log_view.command.text()
    qtbot.waitUntil(lambda: "listening on" in window.log_view.plain_text(), timeout=20000)

    # generate tokens with the quick benchmark; the tokens/s chart must move. The sampler
    # needs one reading of the new server first: rates are differences between readings.
    qtbot.waitUntil(lambda: window.metrics.latest is not None
                    and getattr(window.metrics.latest.server("long"), "state", "") == "up",
                    timeout=20000)
    window.tabs.setCurrentWidget(window.charts)  # hidden charts do not redraw
    bench = window.bench
    bench.select_tier("long")
    qtbot.waitUntil(lambda: bench.run_button.isEnabled(), timeout=10000)
    bench.n.setValue(4)
    bench.max_tokens.setValue(48)
    with qtbot.waitSignal(bench.finished, timeout=60000) as done:
        bench.run_button.click()
    result = done.args[0]
    assert result is not None and result.n == 4 and result.gen_tps and result.gen_tps > 0
    assert result.wall_stdev_s is not None
    assert "generation" in bench.summary.text()

    charts = window.charts.charts

    def chart_moved() -> bool:
        item = charts.curve("srv/long/gen_tps")
        if item is None:
            return False
        _x, y = item.getData()
        return y is not None and bool(np.any(np.nan_to_num(y) > 0))

    qtbot.waitUntil(chart_moved, timeout=20000)

    # a long benchmark is cancellable
    bench.n.setValue(100)
    with qtbot.waitSignal(bench.finished, timeout=60000) as cancelled:
        bench.run_button.click()
        bench.cancel_button.click()
    assert cancelled.args[0] is None and "cancelled" in bench.summary.text()
    assert bench.run_button.isEnabled()
    assert math.isfinite(window.metrics.store.last("srv/long/gen_tps") or 0.0)

    long.stop_button.click()
    qtbot.waitUntil(lambda: card_state(window, "long") == "stopped", timeout=30000)
    assert not window.bridge.running()


def test_a_crash_shows_the_reason(live, window, qtbot):
    window.activate_tier("scratch")
    qtbot.waitUntil(lambda: state(window, "scratch") == "ready", timeout=60000)
    pid = window.statuses_of_profile()["scratch"].pid
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: card_state(window, "scratch") in ("crashed", "failed"), timeout=30000)
    card = window.tiers.cards["scratch"]
    assert card.state.text().startswith(("crashed: ", "failed: "))
    reason = window.statuses_of_profile()["scratch"].reason
    assert reason and reason in card.state.text()
    assert card.primary.text() == "Restart"


def test_shortcuts_start_and_stop(live, window, qtbot):
    window.activate_nth(0)  # what Ctrl+1 does
    qtbot.waitUntil(lambda: card_state(window, "haiku") == "ready", timeout=60000)
    window.stop_all()  # what Ctrl+. does
    qtbot.waitUntil(lambda: not window.bridge.running(), timeout=30000)


def test_ui_stays_responsive_while_a_tier_loads_and_the_sampler_runs(live, window, qtbot):
    assert window.metrics.sampler is not None and window.metrics.sampler.running
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def beat() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    rounds: list[str] = []

    def on_sample(sample) -> None:
        srv = sample.server(window.profile.engine_of("haiku"))  # haiku's server: its engine
        rounds.append(srv.state if srv is not None else "none")

    window.metrics.sampled.connect(on_sample)
    heart = QTimer()
    heart.setInterval(10)
    heart.timeout.connect(beat)
    heart.start()
    window.activate_tier("haiku")
    qtbot.waitUntil(lambda: state(window, "haiku") == "ready", timeout=60000)
    # a few sampling rounds of the running server (interval 0.25 s in these tests)
    qtbot.waitUntil(lambda: rounds.count("up") >= 4, timeout=30000)
    window.stop_all()
    qtbot.waitUntil(lambda: not window.bridge.running(), timeout=30000)
    heart.stop()
    assert len(gaps) > 20
    worst = max(gaps[1:])
    assert worst <= 10 + 100, f"UI thread stalled {worst} ms (gaps: {sorted(gaps)[-5:]})"


def test_quit_follows_the_setting_and_stops_servers(live, window, qtbot, supervisor):
    window.activate_tier("haiku")
    qtbot.waitUntil(lambda: state(window, "haiku") == "ready", timeout=60000)
    pid = window.statuses_of_profile()["haiku"].pid
    assert window.settings.on_quit == "stop"
    with qtbot.waitSignal(window.quit_requested, timeout=30000):
        window.request_quit()
    assert [s.state for s in supervisor.status() if s.tier == "haiku+sonnet"] == ["stopped"]
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
