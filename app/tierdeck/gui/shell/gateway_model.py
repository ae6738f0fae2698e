"""What the gateway strip and the tier cards say about the gateway, computed without Qt."""

from __future__ import annotations

from dataclasses import dataclass

from tierdeck.core.clients import GATEWAY_URL
from tierdeck.core.gateway.watch import GatewaySnapshot
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.tiers.card_model import RUNNING_STATES


@dataclass
class StripModel:
    running: bool
    url: str  # what the URL box shows and Copy copies
    state: str  # one line: on / off / not answering, and whose profile
    rates: str  # requests/s, in flight, queued ("" when off)


def strip_model(snap: GatewaySnapshot | None, profile: str | None = None) -> StripModel:
    if snap is None or not snap.running:
        return StripModel(False, GATEWAY_URL, "off", "")
    url = snap.url or GATEWAY_URL
    if snap.error:
        return StripModel(True, url, f"on, not answering: {snap.error}", "")
    served = snap.profile or snap.record.profile
    state = f"on · {served}" + ("" if profile in (None, served) else
                                f" (not {profile}: turn off and on to switch)")
    rps = "… req/s" if snap.requests_per_s is None else f"{snap.requests_per_s:.1f} req/s"
    return StripModel(True, url, state, f"{rps} · {snap.in_flight} in flight · {snap.queued} queued")


def engine_peers(statuses: dict[str, ServerStatus],
                 snap: GatewaySnapshot | None = None) -> dict[str, tuple[str, list[str]]]:
    """tier -> (engine, the other tiers on it), for tiers that share an engine.

    From the gateway when it reports; else from the servers: tiers sharing an engine are
    one llama-server, so their statuses carry the same pid."""
    out: dict[str, tuple[str, list[str]]] = {}
    if snap is not None and snap.tiers:
        for name, t in snap.tiers.items():
            if t.shared_with:
                out[name] = (t.engine, list(t.shared_with))
        return out
    by_pid: dict[int, list[str]] = {}
    for name, s in statuses.items():
        if s.pid and s.state in RUNNING_STATES:
            by_pid.setdefault(s.pid, []).append(name)
    for names in by_pid.values():
        if len(names) > 1:
            engine = "+".join(names)
            for n in names:
                out[n] = (engine, [m for m in names if m != n])
    return out


def card_notes(statuses: dict[str, ServerStatus],
               snap: GatewaySnapshot | None = None) -> dict[str, str]:
    """tier -> the card's gateway line: the engine it shares, its requests in flight."""
    peers = engine_peers(statuses, snap)
    live = snap.tiers if snap is not None and snap.running else {}
    notes: dict[str, str] = {}
    for name in set(peers) | set(live):
        parts = []
        if name in peers:
            engine, others = peers[name]
            parts.append(f"shares engine {engine} with {', '.join(others)}")
        t = live.get(name)
        if t is not None and (t.in_flight or t.queued):
            parts.append(f"{t.in_flight} in flight" + (f" · {t.queued} queued" if t.queued else ""))
        if parts:
            notes[name] = " · ".join(parts)
    return notes
