"""Admission in front of one engine: each tier's concurrency, and the KV pool of a shared one.

A tier with `parallel: 2` has at most 2 requests in flight; the rest wait in arrival order.
A unified KV pool (shared engines) must never overflow: llama-server ends EVERY in-flight
request with "context size has been exceeded" when it does. So each request reserves
prompt tokens + max_tokens and is admitted only while the reservations fit the pool;
otherwise it waits. Waiters are served in arrival order: one blocked only by its own tier's
limit does not hold back another tier, but the first one that does not fit the pool stops
later ones from taking pool space first (a big request is never starved by small ones).

Everything here runs on the gateway's event loop thread: no locks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field


class TooBig(Exception):
    """A request whose reservation exceeds the whole pool: it could never be admitted."""


@dataclass
class Ticket:
    tier: str
    tokens: int
    future: asyncio.Future | None = None
    admitted: bool = False


@dataclass
class EngineGate:
    limits: dict[str, int]  # tier -> parallel
    pool: int | None = None  # tokens in the unified KV pool; None: no pool accounting
    used: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    waiters: deque[Ticket] = field(default_factory=deque)

    def queued(self, tier: str | None = None) -> int:
        return sum(1 for w in self.waiters if tier is None or w.tier == tier)

    def busy(self) -> int:
        return sum(self.in_flight.values())

    def _fits(self, t: Ticket) -> tuple[bool, bool]:
        """(tier has a free slot, reservation fits the pool)."""
        slot = self.in_flight.get(t.tier, 0) < self.limits.get(t.tier, 1)
        pool = self.pool is None or self.used + t.tokens <= self.pool
        return slot, pool

    def would_wait(self, tier: str, tokens: int) -> bool:
        if self.waiters:
            return True
        slot, pool = self._fits(Ticket(tier, tokens))
        return not (slot and pool)

    def try_admit(self, tier: str, tokens: int) -> Ticket | None:
        """The fast path: admitted now (no waiters ahead and room), else None."""
        self._check_size(tokens)
        if self.waiters:
            return None
        t = Ticket(tier, tokens)
        slot, pool = self._fits(t)
        if not (slot and pool):
            return None
        self._take(t)
        return t

    def enqueue(self, tier: str, tokens: int) -> Ticket:
        self._check_size(tokens)
        t = Ticket(tier, tokens, future=asyncio.get_running_loop().create_future())
        self.waiters.append(t)
        self._pump()
        return t

    async def wait(self, t: Ticket) -> None:
        """Until admitted; a cancelled waiter leaves the queue (or gives its place back)."""
        assert t.future is not None
        try:
            await t.future
        except asyncio.CancelledError:
            if t.admitted:
                self.release(t)
            else:
                self._drop(t)
            raise

    def release(self, t: Ticket) -> None:
        if not t.admitted:
            self._drop(t)
            return
        t.admitted = False
        self.in_flight[t.tier] -= 1
        self.used -= t.tokens
        self._pump()

    def set_pool(self, pool: int | None) -> None:
        self.pool = pool
        self._pump()

    # ---- internals ----------------------------------------------------------------------
    def _check_size(self, tokens: int) -> None:
        if self.pool is not None and tokens > self.pool:
            raise TooBig(f"prompt + max_tokens ({tokens} tokens) exceed the engine's "
                         f"whole KV pool ({self.pool} tokens)")

    def _take(self, t: Ticket) -> None:
        t.admitted = True
        self.in_flight[t.tier] = self.in_flight.get(t.tier, 0) + 1
        self.used += t.tokens

    def _drop(self, t: Ticket) -> None:
        try:
            self.waiters.remove(t)
        except ValueError:
            return
        self._pump()

    def _pump(self) -> None:
        pool_blocked = False
        for t in list(self.waiters):
            slot, pool = self._fits(t)
            if not slot:
                continue
            if pool_blocked or not pool:
                pool_blocked = True
                continue
            self.waiters.remove(t)
            self._take(t)
            if t.future is not None and not t.future.done():
                t.future.set_result(None)
