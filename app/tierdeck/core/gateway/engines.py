"""The gateway's view of its engines: their state, and starting or swapping one in on demand.

State comes from the Supervisor's StateChanged events, hopped onto the event loop with
call_soon_threadsafe: every field here is read and written on the loop thread only (no
locks). Supervisor calls block, so they run in a worker thread (asyncio.to_thread).

A request for an engine that is down starts it. If it swaps with a running partner, the
partner first stops taking new requests and its in-flight ones finish (up to
`drain_timeout_s`), then Supervisor.switch() stops it and starts ours. Every request that
arrives meanwhile awaits the same task: concurrent requests cause one swap. Swaps run one
at a time (a lock), so two groups never start/stop the same server against each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tierdeck.core.profiles.schema import Profile
from tierdeck.core.servers.events import ServerStatus, StateChanged

UP = ("starting", "ready")


class EngineUnavailable(Exception):
    """The engine could not be started (its reason, from the supervisor, is the message)."""


@dataclass
class EngineState:
    state: str = "stopped"
    base_url: str = ""
    pid: int | None = None
    api_key: str | None = None
    pool: int | None = None  # -c of a unified-KV engine (its whole pool)


def pool_of(status: ServerStatus) -> int | None:
    """The unified pool in tokens: the `-c` the engine runs with, when it runs with -kvu."""
    cmd = status.command
    if "-kvu" not in cmd and "--kv-unified" not in cmd:
        return None
    for flag in ("-c", "--ctx-size"):
        if flag in cmd:
            with contextlib.suppress(ValueError, IndexError):
                return int(cmd[cmd.index(flag) + 1])
    return None


class EngineSet:
    def __init__(self, profile: Profile, supervisor, drain_timeout_s: float = 30.0,
                 busy: Callable[[str], int] | None = None,
                 before_stop: Callable[[str], Awaitable[None]] | None = None):
        self.profile = profile
        self.sup = supervisor
        self.drain_timeout_s = drain_timeout_s
        self.busy = busy or (lambda engine: 0)  # in-flight requests on an engine
        self.before_stop = before_stop  # e.g. close our idle connections to it
        self.states: dict[str, EngineState] = {}
        self.draining: set[str] = set()
        self.on_change: list[Callable[[str, EngineState], None]] = []
        self._bringing: dict[str, asyncio.Future] = {}
        self._swap_lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.swaps = 0  # engine starts this gateway asked for (tests and status)
        self._unsub = supervisor.subscribe(self._event)
        for st in supervisor.status():
            if st.profile == profile.name:
                self._apply(st)

    def close(self) -> None:
        self._unsub()

    # ---- state, on the loop thread ----------------------------------------------------
    def _event(self, ev: object) -> None:  # any thread
        if isinstance(ev, StateChanged) and ev.profile == self.profile.name:
            with contextlib.suppress(RuntimeError):  # loop closed: the gateway is stopping
                self._loop.call_soon_threadsafe(self._apply, ev.status)

    def _apply(self, st: ServerStatus) -> None:
        es = EngineState(st.state, st.base_url, st.pid, st.api_key, pool_of(st))
        self.states[st.tier] = es
        for cb in self.on_change:
            cb(st.tier, es)

    def state(self, engine: str) -> EngineState:
        return self.states.get(engine) or EngineState()

    def ready(self, engine: str) -> EngineState | None:
        """The engine's state if requests may go to it right now (the fast path)."""
        es = self.states.get(engine)
        if es is not None and es.state == "ready" and engine not in self.draining:
            return es
        return None

    def request_done(self) -> None:
        """Called when a request ends: wakes a swap waiting for its partner to drain."""
        self._idle.set()

    # ---- bringing an engine up --------------------------------------------------------
    async def ensure_ready(self, engine: str) -> EngineState:
        es = self.ready(engine)
        if es is not None:
            return es
        fut = self._bringing.get(engine)
        if fut is None:
            fut = asyncio.ensure_future(self._bring_up(engine))
            self._bringing[engine] = fut
            fut.add_done_callback(lambda _f: self._bringing.pop(engine, None))
        # shield: one waiter going away (client disconnect) must not cancel the swap
        return await asyncio.shield(fut)

    async def _bring_up(self, engine: str) -> EngineState:
        async with self._swap_lock:
            es = self.ready(engine)
            if es is not None:
                return es
            partners = [p for p in self.profile.swap_partners(engine)
                        if self.state(p).state in UP]
            self.draining.update(partners)
            try:
                await self._drain(partners)
                if self.before_stop is not None:
                    for p in partners:
                        await self.before_stop(p)
                self.swaps += 1
                st = await asyncio.to_thread(self.sup.switch, self.profile, engine)
            except Exception as e:  # SupervisorError, ProfileError, missing binary ...
                raise EngineUnavailable(f"cannot start {engine}: {e}") from e
            finally:
                self.draining.difference_update(partners)
            self._apply(st)  # the events may still be in flight: use the result now
            if st.state != "ready":
                raise EngineUnavailable(f"{engine} {st.state}: {st.reason or st.detail}")
            return self.states[engine]

    async def _drain(self, partners: list[str]) -> None:
        deadline = time.monotonic() + self.drain_timeout_s
        while any(self.busy(p) for p in partners):
            left = deadline - time.monotonic()
            if left <= 0:
                return  # the drain limit: the switch stops them with what is in flight
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), min(left, 0.5))
