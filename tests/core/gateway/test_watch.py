"""GatewayWatch against a stand-in gateway (GET /tierdeck/status only; the real gateway's
own tests drive it against llama-server) and a real ledger file."""

from __future__ import annotations

import threading

import pytest

from tests.core.gateway.standin import StandInGateway, tier_status, write_gateway_json
from tests.core.gateway.test_ledger import rec
from tierdeck.core.gateway.ledger import Ledger
from tierdeck.core.gateway.watch import RATE_WINDOW_S, GatewayWatch


@pytest.fixture
def gateway():
    gw = StandInGateway()
    yield gw
    gw.close()


def test_no_gateway_recorded():
    w = GatewayWatch()
    snap = w.poll()
    assert not snap.running and snap.url is None and snap.tiers == {}
    w.stop()


def test_a_recorded_gateway_that_does_not_answer_says_why():
    write_gateway_json("http://127.0.0.1:9")  # our own pid: the record checks out
    w = GatewayWatch()
    snap = w.poll()
    assert snap.running and snap.error and "Connect" in snap.error
    w.stop()


def test_rates_in_flight_and_shared_engines(gateway):
    write_gateway_json(gateway.url)
    gateway.set_tiers({"haiku": tier_status("haiku+sonnet", ["sonnet"], requests=10),
                       "sonnet": tier_status("haiku+sonnet", ["haiku"], requests=4)})
    old = Ledger()
    old.record(rec("haiku", completion=1000))  # ended before the window opened
    assert old.flush(10)
    old.close()
    w = GatewayWatch()
    first = w.poll()
    assert first.running and first.error is None and first.profile == "demo"
    assert first.requests_per_s is None  # one reading: no rate yet
    assert first.tiers["haiku"].shared_with == ["sonnet"]

    gateway.set_tiers({"haiku": tier_status("haiku+sonnet", ["sonnet"], requests=16,
                                            in_flight=2, queued=1),
                       "sonnet": tier_status("haiku+sonnet", ["haiku"], requests=4)})
    led = Ledger()
    led.record(rec("haiku", completion=50))
    led.record(rec("haiku", completion=25))
    assert led.flush(10)
    led.close()
    snap = w.poll()
    assert snap.requests_per_s > 0 and snap.tiers["haiku"].requests_per_s > 0
    assert snap.tiers["sonnet"].requests_per_s == 0
    assert (snap.in_flight, snap.queued) == (2, 1)
    assert (snap.tiers["haiku"].in_flight, snap.tiers["haiku"].queued) == (2, 1)
    # Rows already in the ledger before the watch started are not counted: only new ones.
    assert snap.tiers["haiku"].tokens_per_s == pytest.approx(75 / RATE_WINDOW_S)
    assert snap.tiers["sonnet"].tokens_per_s == 0
    w.stop()


def test_the_thread_delivers_snapshots(gateway):
    write_gateway_json(gateway.url)
    w = GatewayWatch(interval_s=0.05)
    got = threading.Event()
    seen = []

    def on(snap):
        seen.append((snap, threading.current_thread().name))
        if len(seen) >= 3:
            got.set()

    unsub = w.subscribe(on)
    w.start()
    assert got.wait(10)
    unsub()
    w.stop()
    assert all(s.running for s, _ in seen) and gateway.hits >= 3
    assert {name for _, name in seen} == {"tierdeck-gateway-watch"}  # never the caller's
