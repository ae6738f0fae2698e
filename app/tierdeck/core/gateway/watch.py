"""Watch the running gateway from outside it: its record, GET /tierdeck/status, live rates.

The window (and any script) gets a GatewaySnapshot per poll: whether a gateway runs, its
URL, requests/s overall and per tier (from the status counters), in-flight and queued
requests per tier, and output tokens/s per tier (from the rows the ledger gained since the
last poll: tiers sharing one engine share one llama-server /metrics, the ledger knows
which tier each request was for). Polls run on the watcher's own thread, never the caller's.

Lock order: GatewayWatch._lock only guards the subscriber list and is never held while
polling or calling a subscriber.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tierdeck.core.gateway.control import TOKEN_ENV, GatewayRecord, read_gateway
from tierdeck.core.gateway.ledger import Ledger

log = logging.getLogger(__name__)

RATE_WINDOW_S = 5.0  # tokens/s: output tokens of requests that ended in this window
STATUS_TIMEOUT_S = 2.0


@dataclass
class TierLive:
    engine: str
    shared_with: list[str]
    state: str
    in_flight: int
    queued: int
    requests: int
    requests_per_s: float | None = None  # None until two polls gave a rate
    tokens_per_s: float = 0.0


@dataclass
class GatewaySnapshot:
    t: float  # wall-clock time of the poll
    record: GatewayRecord | None  # None: no gateway running
    error: str | None = None  # a record, but its status could not be read
    profile: str | None = None
    requests_per_s: float | None = None
    in_flight: int = 0
    queued: int = 0
    tiers: dict[str, TierLive] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.record is not None

    @property
    def url(self) -> str | None:
        return self.record.url if self.record is not None else None


class GatewayWatch:
    def __init__(self, interval_s: float = 1.0, ledger_path: Path | None = None,
                 read_record: Callable[[], GatewayRecord | None] = read_gateway):
        self.interval_s = interval_s
        self._read_record = read_record
        self._ledger_path = ledger_path
        self._ledger: Ledger | None = None
        self._row_id = -1  # ledger rows up to here are already counted
        self._ended: deque[tuple[float, str, int]] = deque()  # (monotonic, tier, tokens)
        self._prev: tuple[float, str, int, dict[str, int]] | None = None  # t, url, total, per tier
        self._client = httpx.Client(timeout=STATUS_TIMEOUT_S)
        self._subs: list[Callable[[GatewaySnapshot], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, fn: Callable[[GatewaySnapshot], None]) -> Callable[[], None]:
        with self._lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tierdeck-gateway-watch",
                                            daemon=True)
            self._thread.start()

    def record(self) -> GatewayRecord | None:
        """The running gateway's record now (reads the state folder)."""
        return self._read_record()

    def poke(self) -> None:
        """Poll now (after a start or stop), not at the end of the interval."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            snap = self.poll()
            with self._lock:
                subs = list(self._subs)
            for fn in subs:
                fn(snap)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    # --- one poll ----------------------------------------------------------------------
    def poll(self) -> GatewaySnapshot:
        """Read the record, the status and the new ledger rows once (blocking)."""
        now, mono = time.time(), time.monotonic()
        rec = self.record()
        if rec is None:
            self._prev = None
            snap = GatewaySnapshot(now, None)
        else:
            snap = self._status(rec, now, mono)
        if snap.running:  # rows only come from a gateway: an idle window reads nothing
            self._add_token_rates(snap, mono)
        return snap

    def _status(self, rec: GatewayRecord, now: float, mono: float) -> GatewaySnapshot:
        headers = {}
        token = os.environ.get(TOKEN_ENV)
        if token:
            headers = {"Authorization": f"Bearer {token}", "x-api-key": token}
        try:
            r = self._client.get(rec.url.rstrip("/") + "/tierdeck/status", headers=headers)
            r.raise_for_status()
            st: dict[str, Any] = r.json()
        except (httpx.HTTPError, ValueError) as e:
            self._prev = None
            return GatewaySnapshot(now, rec, error=_one_line(e))
        tiers = {name: TierLive(engine=str(t.get("engine", name)),
                                shared_with=list(t.get("shared_with") or []),
                                state=str(t.get("state", "")), in_flight=int(t.get("in_flight", 0)),
                                queued=int(t.get("queued", 0)), requests=int(t.get("requests", 0)))
                 for name, t in (st.get("tiers") or {}).items()}
        total = int(st.get("requests_total", 0))
        snap = GatewaySnapshot(now, rec, profile=st.get("profile"), in_flight=int(st.get("in_flight", 0)),
                               queued=int(st.get("queued", 0)), tiers=tiers)
        prev = self._prev
        # Counters restart with the gateway: a new URL or a counter going back is a new run.
        if prev is not None and prev[1] == rec.url and total >= prev[2] and mono > prev[0]:
            dt = mono - prev[0]
            snap.requests_per_s = (total - prev[2]) / dt
            for name, t in tiers.items():
                if name in prev[3] and t.requests >= prev[3][name]:
                    t.requests_per_s = (t.requests - prev[3][name]) / dt
        self._prev = (mono, rec.url, total, {n: t.requests for n, t in tiers.items()})
        return snap

    def _add_token_rates(self, snap: GatewaySnapshot, mono: float) -> None:
        try:
            if self._ledger is None:
                self._ledger = Ledger(self._ledger_path, rollup_every_s=None)
            self._row_id, rows = self._ledger.rows_after(self._row_id)
        except (sqlite3.Error, OSError) as e:  # rates stay at 0; the reason is logged
            log.warning("gateway watch: cannot read the usage ledger: %s", e)
            rows = []
        for r in rows:
            self._ended.append((mono, r.tier, r.completion_tokens))
        while self._ended and self._ended[0][0] < mono - RATE_WINDOW_S:
            self._ended.popleft()
        for _t, tier, n in self._ended:
            live = snap.tiers.get(tier)
            if live is not None:
                live.tokens_per_s += n / RATE_WINDOW_S


def _one_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
