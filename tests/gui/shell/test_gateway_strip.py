"""The gateway strip, tier cards and gateway charts against a stand-in gateway.

The stand-in (tests/core/gateway/standin.py) serves only /health and /tierdeck/status and
is recorded in gateway.json like a real gateway: it tests the window's side (polling off
the UI thread, on/off, what the cards and charts show). The real gateway's own tests drive
it against a real llama-server.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtGui import QGuiApplication

from tests.core.gateway.standin import StandInGateway, tier_status, write_gateway_json
from tierdeck.core.gateway.control import read_gateway
from tierdeck.core.gateway.watch import GatewayWatch
from tierdeck.core.paths import app_dirs
from tierdeck.core.profiles import load_profile
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.shell.gateway_strip import GatewayStrip


@pytest.fixture
def standin():
    gw = StandInGateway()
    yield gw
    gw.close()


def test_window_shows_a_running_gateway(window, qtbot, standin):
    standin.set_tiers({"haiku": tier_status("haiku+sonnet", ["sonnet"], in_flight=2, queued=1,
                                            requests=5),
                       "sonnet": tier_status("haiku+sonnet", ["haiku"], requests=3)})
    write_gateway_json(standin.url)
    strip = window.gateway
    qtbot.waitUntil(lambda: strip.model.running, timeout=10000)
    assert strip.url.text() == standin.url and strip.state.text() == "on · demo"
    qtbot.waitUntil(lambda: "2 in flight · 1 queued" in strip.rates.text(), timeout=10000)
    assert strip.switch.isChecked() and strip.switch.text() == "Turn off"
    assert strip.copy_url() == standin.url == QGuiApplication.clipboard().text()

    # Cards: the shared engine and the requests in flight.
    qtbot.waitUntil(lambda: window.tiers.cards["haiku"].gateway.isVisibleTo(window), timeout=5000)
    assert window.tiers.cards["haiku"].gateway.text() == \
        "shares engine haiku+sonnet with sonnet · 2 in flight · 1 queued"
    assert window.tiers.cards["sonnet"].gateway.text() == "shares engine haiku+sonnet with haiku"
    # Clients tab: the gateway's URL for every slot.
    window.tiers.select("sonnet")
    assert f"export ANTHROPIC_BASE_URL={standin.url}" in window.clients.texts["env"]
    # Charts: the gateway's per-tier rates, once two polls gave a rate.
    standin.set_tiers({"haiku": tier_status("haiku+sonnet", ["sonnet"], requests=9),
                       "sonnet": tier_status("haiku+sonnet", ["haiku"], requests=3)})
    window.tabs.setCurrentWidget(window.charts)
    charts = window.charts.gateway
    qtbot.waitUntil(lambda: charts.isVisible() and "gw/haiku/req_ps" in charts._items,
                    timeout=10000)

    (app_dirs().state / "gateway.json").unlink()  # the gateway went away
    qtbot.waitUntil(lambda: not strip.model.running, timeout=10000)
    assert strip.state.text() == "off" and not strip.switch.isChecked()
    assert not charts.isVisible()


class Launcher:
    """Injected start/stop: a stand-in gateway recorded in gateway.json, as start_detached does."""

    def __init__(self):
        self.gw: StandInGateway | None = None
        self.stops = 0
        self.stop_threads: list[threading.Thread] = []

    def start(self, profile_name: str):
        self.gw = StandInGateway(profile_name)
        write_gateway_json(self.gw.url, profile=profile_name)
        return read_gateway()

    def stop(self) -> bool:
        self.stops += 1
        self.stop_threads.append(threading.current_thread())
        (app_dirs().state / "gateway.json").unlink(missing_ok=True)
        if self.gw is not None:
            self.gw.close()
            self.gw = None
        return True


@pytest.mark.parametrize("keep", [False, True])
def test_switch_starts_and_stops_and_quitting_follows_the_choice(qtbot, keep):
    launcher = Launcher()
    strip = GatewayStrip(TaskRunner(), watch=GatewayWatch(interval_s=0.1),
                         start_fn=launcher.start, stop_fn=launcher.stop, keep_running=keep)
    qtbot.addWidget(strip)
    assert not strip.switch.isEnabled()  # no profile yet: nothing to start
    strip.set_profile(load_profile("demo"))
    strip.start_watching()
    assert strip.switch.isEnabled() and strip.url.text() == "http://127.0.0.1:4000"

    strip.switch.click()
    qtbot.waitUntil(lambda: strip.model.running and strip.switch.text() == "Turn off",
                    timeout=10000)
    assert strip.url.text() == launcher.gw.url
    strip.switch.click()
    qtbot.waitUntil(lambda: not strip.model.running and strip.switch.text() == "Turn on",
                    timeout=10000)
    assert launcher.stops == 1

    strip.switch.click()  # on again, then the window closes
    qtbot.waitUntil(lambda: strip.model.running, timeout=10000)
    with qtbot.waitSignal(strip.keep_running_changed, timeout=1000):
        strip.keep.setChecked(not keep)
        strip.keep.setChecked(keep)
    released = []
    strip.release(stop_gateway=not keep, then=lambda: released.append(True))
    qtbot.waitUntil(lambda: bool(released), timeout=10000)
    assert launcher.stops == (1 if keep else 2)
    assert (read_gateway() is not None) == keep
    assert threading.main_thread() not in launcher.stop_threads  # never on the UI thread
    strip.shutdown()
    launcher.stop()


def test_a_gateway_started_elsewhere_is_not_stopped_on_quit(qtbot, standin):
    write_gateway_json(standin.url)  # e.g. `tierdeck gateway demo` in a terminal
    launcher = Launcher()
    strip = GatewayStrip(TaskRunner(), watch=GatewayWatch(interval_s=0.1), stop_fn=launcher.stop)
    qtbot.addWidget(strip)
    strip.start_watching()
    qtbot.waitUntil(lambda: strip.model.running, timeout=10000)
    released = []
    strip.release(stop_gateway=True, then=lambda: released.append(True))
    qtbot.waitUntil(lambda: bool(released), timeout=10000)
    assert launcher.stops == 0 and read_gateway() is not None
    strip.shutdown()


def test_quitting_stops_the_gateway_the_window_started_off_the_ui_thread(window, qtbot):
    launcher = Launcher()
    strip = window.gateway
    strip.start_fn, strip.stop_fn = launcher.start, launcher.stop
    assert not window.settings.gateway_keep_running
    strip.switch.click()
    qtbot.waitUntil(lambda: strip.model.running and strip.started_pid is not None, timeout=10000)

    with qtbot.waitSignal(window.quit_requested, timeout=30000):
        window.request_quit()  # no server runs: only the gateway step is left
    assert launcher.stops == 1 and read_gateway() is None
    assert launcher.stop_threads[0] is not threading.main_thread()  # ran on the runner


def test_a_start_still_running_at_quit_is_waited_for_then_stopped(qtbot):
    gate = threading.Event()
    launcher = Launcher()

    def slow_start(profile_name: str):
        gate.wait(10)
        return launcher.start(profile_name)

    strip = GatewayStrip(TaskRunner(), watch=GatewayWatch(interval_s=0.1), start_fn=slow_start,
                         stop_fn=launcher.stop)
    qtbot.addWidget(strip)
    strip.set_profile(load_profile("demo"))
    strip.start_watching()
    strip.turn_on()
    released = []
    strip.release(stop_gateway=True, then=lambda: released.append(True))
    assert not released and launcher.stops == 0
    gate.set()
    qtbot.waitUntil(lambda: bool(released), timeout=10000)
    assert launcher.stops == 1 and read_gateway() is None
    strip.shutdown()
