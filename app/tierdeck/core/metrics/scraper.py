"""Scrape one llama-server: /metrics and /slots, turned into live rates.

Live tokens/s come from counter deltas over wall time, never from the server's
`*_tokens_seconds` gauges (averages since start). Counters alone lag, though:
`tokens_predicted_total` grows only when a request finishes (a 3-minute stream would read
0 t/s for 3 minutes, then one spike), and `prompt_tokens_total` only when a batch produces
output. So each rate is the delta of a *live total*:

    generated = tokens_predicted_total + tokens decoded so far by the busy slots
    prompt    = prompt_tokens_total + prompt tokens evaluated by busy slots still in prompt

/metrics is read before /slots: a request that finishes between the two reads is then
briefly missing from both (never counted twice by a finish), and the live total is kept
monotonic with a high-water mark, so the sum of rate x interval over time equals the
counters' growth; only the timing within one interval can shift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from tierdeck.core.metrics.prom import MetricsParseError, parse_metrics
from tierdeck.core.metrics.samples import DOWN, ERROR, LOADING, UP, ServerSample
from tierdeck.core.metrics.slots import SlotInfo, parse_slots
from tierdeck.core.metrics.target import Target

CONNECT_TIMEOUT_S = 0.5  # loopback: a refused or filtered port answers at once
READ_TIMEOUT_S = 5.0  # a server busy with a long prompt batch answers /metrics late


@dataclass
class _Live:
    hw: float  # high-water mark of the live total
    counter: float  # the raw counter at that scrape, to spot a restart


class ServerScraper:
    """Keeps the previous reading of one server so each scrape can report rates."""

    def __init__(self, target: Target, *, read_timeout_s: float = READ_TIMEOUT_S,
                 client: httpx.Client | None = None):
        self.target = target
        self._own_client = client is None
        headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(read_timeout_s, connect=CONNECT_TIMEOUT_S),
            headers=headers,
            trust_env=False,  # an HTTP(S)_PROXY from the environment must not see loopback
        )
        self._prev_at: float | None = None
        self._gen: _Live | None = None
        self._prompt: _Live | None = None

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def _base(self, state: str, error: str | None = None) -> ServerSample:
        t = self.target
        return ServerSample(
            name=t.name, base_url=t.url, pid=t.pid, state=state, error=error,
            planned_bytes=t.planned_bytes, loaded_bytes=t.loaded_bytes,
        )

    def forget(self) -> None:
        """Drop the previous reading (the server went away; rates restart from scratch)."""
        self._prev_at = None
        self._gen = self._prompt = None

    def scrape(self) -> ServerSample:
        t0 = time.monotonic()
        try:
            r = self._client.get(self.target.url + "/metrics")
        except httpx.TimeoutException:
            self.forget()
            return self._base(DOWN, "no answer from /metrics (timed out)")
        except httpx.HTTPError as e:
            self.forget()
            return self._base(DOWN, _short(e))
        if r.status_code == 503:
            self.forget()
            return self._base(LOADING, "loading model")
        if r.status_code in (401, 403):
            return self._base(ERROR, "/metrics refused: wrong or missing API key")
        if r.status_code in (404, 501):
            return self._base(ERROR, "/metrics is off: start llama-server with --metrics")
        if r.status_code != 200:
            return self._base(ERROR, f"/metrics answered HTTP {r.status_code}")
        at = time.monotonic()
        try:
            m = parse_metrics(r.text)
        except MetricsParseError as e:
            return self._base(ERROR, str(e))

        slots, slots_error = self._slots()
        s = self._base(UP, slots_error)
        s.at = at
        s.tokens_predicted_total = m.get("tokens_predicted_total")
        s.prompt_tokens_total = m.get("prompt_tokens_total")
        s.requests_processing = m.get("requests_processing")
        s.requests_deferred = m.get("requests_deferred")
        if slots is not None:
            s.slots = slots
            s.slots_total = len(slots)
            s.slots_busy = sum(1 for x in slots if x.processing)
        elif s.requests_processing is not None:
            s.slots_busy = int(s.requests_processing)

        busy = slots or []
        gen_live = gen_counter = s.tokens_predicted_total
        if gen_live is not None:
            gen_live += sum(x.decoded for x in busy)
        prompt_live = prompt_counter = s.prompt_tokens_total
        if prompt_live is not None:
            prompt_live += sum(x.prompt_processed for x in busy if x.decoded == 0)

        dt = at - self._prev_at if self._prev_at is not None else None
        s.gen_tps, self._gen = _rate(self._gen, gen_live, gen_counter, dt)
        s.prompt_tps, self._prompt = _rate(self._prompt, prompt_live, prompt_counter, dt)
        self._prev_at = at
        s.scrape_s = time.monotonic() - t0
        return s

    def _slots(self) -> tuple[list[SlotInfo] | None, str | None]:
        try:
            r = self._client.get(self.target.url + "/slots")
        except httpx.HTTPError as e:
            return None, f"/slots: {_short(e)}"
        if r.status_code != 200:
            # --no-slots answers 501; busy slots then come from requests_processing.
            return None, None if r.status_code == 501 else f"/slots answered HTTP {r.status_code}"
        try:
            return parse_slots(r.json()), None
        except ValueError as e:
            return None, f"/slots: {e}"


def _rate(prev: _Live | None, live: float | None, counter: float | None,
          dt: float | None) -> tuple[float | None, _Live | None]:
    if live is None or counter is None:
        return None, None
    if prev is None or dt is None or dt <= 0 or counter < prev.counter:
        # First reading, or the counter went back: the server restarted under the same URL.
        return None, _Live(live, counter)
    hw = max(prev.hw, live)
    return (hw - prev.hw) / dt, _Live(hw, counter)


def _short(e: Exception) -> str:
    if isinstance(e, httpx.ConnectError):
        return "connection refused" if "refused" in str(e).lower() else f"cannot connect: {e}"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
