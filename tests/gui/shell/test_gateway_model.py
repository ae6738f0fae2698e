"""What the strip and the cards say about the gateway (Qt-free)."""

from tests.core.servers.test_clients import gateway_record
from tierdeck.core.gateway.watch import GatewaySnapshot, TierLive
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.shell.gateway_model import card_notes, strip_model


def live(engine, shared, in_flight=0, queued=0):
    return TierLive(engine, shared, "ready", in_flight, queued, 0)


def test_strip_texts():
    assert strip_model(None).state == "off" and strip_model(None).rates == ""
    down = GatewaySnapshot(0.0, gateway_record(), error="ConnectError: refused")
    assert strip_model(down).state == "on, not answering: ConnectError: refused"
    snap = GatewaySnapshot(0.0, gateway_record(), profile="demo", requests_per_s=2.5,
                           in_flight=3, queued=1)
    m = strip_model(snap, "other")
    assert m.url == "http://127.0.0.1:4100" and m.rates == "2.5 req/s · 3 in flight · 1 queued"
    assert "not other" in m.state


def test_shared_engine_from_the_gateway_or_from_one_pid():
    snap = GatewaySnapshot(0.0, gateway_record(), tiers={
        "haiku": live("haiku+sonnet", ["sonnet"], in_flight=2),
        "sonnet": live("haiku+sonnet", ["haiku"]),
        "opus": live("opus", [], queued=1)})
    assert card_notes({}, snap) == {
        "haiku": "shares engine haiku+sonnet with sonnet · 2 in flight",
        "sonnet": "shares engine haiku+sonnet with haiku",
        "opus": "0 in flight · 1 queued"}
    # No gateway: tiers served by one llama-server carry the same pid.
    st = {n: ServerStatus(n, "demo", "ready", pid=pid) for n, pid in
          (("haiku", 100), ("sonnet", 100), ("small", 200))}
    assert card_notes(st) == {"haiku": "shares engine haiku+sonnet with sonnet",
                              "sonnet": "shares engine haiku+sonnet with haiku"}
