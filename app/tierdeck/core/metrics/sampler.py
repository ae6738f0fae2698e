"""The sampling loop: every interval, all servers and all devices, off the UI thread.

Each server has its own worker thread and HTTP connection. A round kicks every worker,
reads the devices meanwhile, then waits for the scrapes only until its deadline (half an
interval): a hung or slow server is reported as such and never delays the others or the
next round. A worker whose previous scrape is still running is not kicked again, so a dead
server costs one blocked thread, not a pile of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tierdeck.core.metrics.devices import DeviceProbe
from tierdeck.core.metrics.samples import DOWN, ERROR, SLOW, Sample, ServerSample
from tierdeck.core.metrics.scraper import READ_TIMEOUT_S, ServerScraper
from tierdeck.core.metrics.store import DEFAULT_CAPACITY, MetricsStore
from tierdeck.core.metrics.target import Target

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.05
Callback = Callable[[Sample], None]


class _Worker:
    """One thread per server: scrapes when kicked, keeps the newest result."""

    def __init__(self, target: Target, done: threading.Condition, read_timeout_s: float):
        self.target = target
        self._done = done
        self._scraper = ServerScraper(target, read_timeout_s=read_timeout_s)
        self._kick = threading.Event()
        self._stopping = False
        self.busy = False  # guarded by `done`
        self.fresh: ServerSample | None = None  # guarded by `done`; taken by the round
        self.last: ServerSample | None = None  # the last completed scrape
        self._thread = threading.Thread(
            target=self._run, name=f"tierdeck-scrape-{target.name}", daemon=True
        )
        self._thread.start()

    def kick(self) -> bool:
        """Start a scrape unless one is running. Call with `done` held."""
        if self.busy:
            return False
        self.busy = True
        self._kick.set()
        return True

    def stop(self) -> None:
        self._stopping = True
        self._kick.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                self._kick.wait()
                self._kick.clear()
                if self._stopping:
                    return
                try:
                    s = self._scraper.scrape()
                except Exception as e:  # a bug in parsing must not kill the worker
                    log.exception("scraping %s failed", self.target.url)
                    s = self._scraper._base(ERROR, f"{type(e).__name__}: {e}")
                with self._done:
                    self.fresh = self.last = s
                    self.busy = False
                    self._done.notify_all()
        finally:
            self._scraper.close()


class Sampler:
    def __init__(
        self,
        targets: Callable[[], list[Target]],
        interval_s: float = 1.0,
        nvml: Any = None,
        *,
        store: MetricsStore | None = None,
        reserve_bytes: int | None = None,
        read_timeout_s: float = READ_TIMEOUT_S,
        probe: DeviceProbe | None = None,
    ):
        self._targets = targets
        self._interval = max(MIN_INTERVAL_S, float(interval_s))
        self.store = store if store is not None else MetricsStore(DEFAULT_CAPACITY)
        self._read_timeout = read_timeout_s
        self._nvml = nvml
        self._reserve = reserve_bytes
        self._probe = probe
        self._done = threading.Condition()
        self._workers: dict[tuple, _Worker] = {}
        self._subs: list[Callback] = []
        self._subs_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_targets: list[Target] = []
        self.latest: Sample | None = None
        self.rounds = 0

    # --- configuration -----------------------------------------------------------------
    @property
    def interval_s(self) -> float:
        return self._interval

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self._interval = max(MIN_INTERVAL_S, float(value))
        self._wake.set()  # apply now, not after the old (maybe long) interval

    def set_interval(self, value: float) -> None:
        self.interval_s = value

    def subscribe(self, cb: Callback) -> Callable[[], None]:
        """cb(sample) is called from the sampler thread after each round; returns unsubscribe."""
        with self._subs_lock:
            self._subs.append(cb)

        def unsubscribe() -> None:
            with self._subs_lock:
                if cb in self._subs:
                    self._subs.remove(cb)

        return unsubscribe

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sampler:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tierdeck-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stops the loop and the workers; a worker blocked on a hung server is abandoned
        (a daemon thread: it exits when its read times out)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._done:
            workers = list(self._workers.values())
            idle = [w for w in workers if not w.busy]
            self._workers.clear()
        for w in workers:
            w.stop()
        # Idle workers exit at once; one stuck on a hung server is left to its read timeout
        # rather than blocking the caller (often the UI thread on quit).
        deadline = time.monotonic() + timeout
        for w in idle:
            w.join(max(0.0, deadline - time.monotonic()))
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("sampling round failed")
            now = time.monotonic()
            next_at = max(next_at + self._interval, now)  # a late round skips, never bunches
            self._wake.clear()
            self._wake.wait(max(0.0, next_at - now))
            if self._wake.is_set():
                next_at = time.monotonic()

    # --- one round ---------------------------------------------------------------------
    def _device_probe(self) -> DeviceProbe:
        if self._probe is None:
            reserve = self._reserve
            if reserve is None:
                reserve = _reserve_from_settings()
            self._probe = DeviceProbe(self._nvml, reserve)
        return self._probe

    def _current_targets(self) -> tuple[list[Target], list[str]]:
        try:
            targets = list(self._targets())
            self._last_targets = targets
            return targets, []
        except Exception as e:
            log.exception("target list failed")
            return self._last_targets, [f"target list failed: {type(e).__name__}: {e}"]

    def tick(self) -> Sample:
        """Run one round now (the loop calls this; `tierdeck top --once` calls it directly)."""
        t_wall = time.time()
        started = time.monotonic()
        deadline = started + max(MIN_INTERVAL_S, self._interval * 0.5)
        targets, notes = self._current_targets()
        # Start every scrape first, read the devices while they run.
        with self._done:
            wanted = {}
            for tg in targets:
                key = (tg.name, tg.url, tg.pid, tg.api_key)
                w = self._workers.get(key) or _Worker(tg, self._done, self._read_timeout)
                w.target = tg  # planned/loaded bytes may change without a restart
                wanted[key] = w
                w.kick()
            for key, w in self._workers.items():
                if key not in wanted:
                    w.stop()
            self._workers = wanted
        probe = self._device_probe()
        try:
            devices = probe.read()
        except Exception as e:
            log.exception("device reading failed")
            devices, notes = [], [*notes, f"device reading failed: {type(e).__name__}: {e}"]
        notes += probe.notes
        with self._done:
            self._done.wait_for(
                lambda: not any(w.busy for w in self._workers.values()),
                timeout=max(0.0, deadline - time.monotonic()),
            )
            results = [(w.target, w.fresh, w.last, w.busy) for w in wanted.values()]
            for w in wanted.values():
                w.fresh = None

        servers = []
        gpu_by_pid: dict[int, int] = {}
        for d in devices:
            for pid, used in d.processes.items():
                if used is not None:
                    gpu_by_pid[pid] = gpu_by_pid.get(pid, 0) + used
        for tg, fresh, last, busy in results:
            s = fresh or _stale(tg, last, busy)
            alive = probe.alive(tg.pid)
            if alive is False and s.state != DOWN:
                # The process is gone: say so now rather than after a connect timeout.
                s = ServerSample(tg.name, tg.url, tg.pid, DOWN, f"process {tg.pid} has exited",
                                 planned_bytes=tg.planned_bytes, loaded_bytes=tg.loaded_bytes)
            s.planned_bytes, s.loaded_bytes = tg.planned_bytes, tg.loaded_bytes
            if alive:
                s.rss_bytes = probe.rss(tg.pid)
                s.gpu_bytes = gpu_by_pid.get(tg.pid) if tg.pid is not None else None
            servers.append(s)
        probe.forget_except({tg.pid for tg in targets if tg.pid is not None})

        sample = Sample(t=t_wall, servers=servers, devices=devices, notes=notes)
        self.store.add_sample(sample)
        self.latest = sample
        self.rounds += 1
        with self._subs_lock:
            subs = list(self._subs)
        for cb in subs:
            try:
                cb(sample)
            except Exception:
                log.exception("metrics subscriber failed")
        return sample


def _stale(tg: Target, last: ServerSample | None, busy: bool) -> ServerSample:
    """No fresh scrape this round: the previous scrape is still waiting for an answer."""
    if last is not None and last.state in (DOWN, ERROR):
        return ServerSample(tg.name, tg.url, tg.pid, last.state, last.error)
    why = "still waiting for /metrics" if busy else "no reading yet"
    return ServerSample(tg.name, tg.url, tg.pid, SLOW, why)


def _reserve_from_settings() -> int:
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    try:
        return Settings.load().reserve_mib * 1024 * 1024
    except SettingsError as e:
        log.warning("%s; reserving the default %d MiB", e, Settings.reserve_mib)
        return Settings.reserve_mib * 1024 * 1024
