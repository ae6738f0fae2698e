"""The supervisor: starts, watches, swaps and stops llama-server processes for tiers.

One Supervisor per TierDeck process (GUI or CLI). They share a registry file, so each sees
servers the others started ("adopted"). A monitor thread tails every server's log file,
polls /health every few tens of ms while a server loads, notices exits and classifies them,
applies the restart policy, and picks up registry changes made by other processes.

Long calls (up, switch, down) block the calling thread until done; subscribers get
StateChanged / LogLine / Step events from whichever thread made the change.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.profiles import Profile, ProfileError, Tier, check_startable
from tierdeck.core.servers import process as proc_mod
from tierdeck.core.servers.classify import Failure, classify_failure, describe_exit, timeout_failure
from tierdeck.core.servers.cmdline import build_command, detect_features
from tierdeck.core.servers.events import LogLine, ServerStatus, StateChanged, Step
from tierdeck.core.servers.logfiles import LogTail, log_path_for, open_for_server
from tierdeck.core.servers.memlog import MemoryLogParser
from tierdeck.core.servers.registry import Entry, Registry, process_matches
from tierdeck.core.servers.server import ManagedServer, free_port, load_progress
from tierdeck.core.servers.tierplan import TierPlan, plan_tier
from tierdeck.core.settings import Settings

Event = StateChanged | LogLine | Step
ACTIVE = ("starting", "ready", "stopping")
LOADS_FILE = "loads.jsonl"  # one line per load: plan next to what llama-server reported


class SupervisorError(Exception):
    """A request the supervisor cannot carry out (unknown tier, conflicting swap members)."""


class Supervisor:
    def __init__(
        self,
        settings: Settings | None = None,
        binary: Path | str | None = None,
        registry: Registry | None = None,
        poll_interval_s: float = 0.025,
        adopt: bool = True,
    ):
        self.settings = settings if settings is not None else _load_settings()
        self._binary = Path(binary) if binary else None
        self.registry = registry or Registry()
        self.poll_interval_s = poll_interval_s
        self._servers: dict[str, ManagedServer] = {}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._subs: list[Callable[[Event], None]] = []
        self._closed = threading.Event()
        self._wake = threading.Event()
        # No keep-alive: an idle open connection makes llama-server slow to exit on SIGTERM.
        self._http = httpx.Client(timeout=httpx.Timeout(0.25, connect=0.25), trust_env=False,
                                  limits=httpx.Limits(max_keepalive_connections=0))
        self._registry_mtime = -1.0
        self._last_sync = 0.0
        self._monitor: threading.Thread | None = None
        if adopt:
            self.sync_registry()
        self._ensure_monitor()

    # ---- public API -------------------------------------------------------------------
    def set_settings(self, settings: Settings) -> None:
        """New settings apply to the next start; a changed llama-server path is looked up again."""
        with self._lock:
            if settings.llama_server != self.settings.llama_server:
                self._binary = None
            self.settings = settings

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subs.remove(callback)

        return unsubscribe

    def status(self, tail_lines: int = 30) -> list[ServerStatus]:
        with self._lock:
            return [s.status(tail_lines) for s in self._servers.values()]

    def get(self, tier: str, profile: str | None = None) -> ServerStatus | None:
        with self._lock:
            s = self._find_one(tier, profile, active_only=False)
            return s.status() if s else None

    def running_profiles(self) -> list[str]:
        with self._lock:
            seen: list[str] = []
            for s in self._servers.values():
                if s.state in ACTIVE and s.profile not in seen:
                    seen.append(s.profile)
            return seen

    def up(self, profile: Profile, tier_names: list[str] | None = None,
           on_step: Callable[[Step], None] | None = None) -> list[ServerStatus]:
        """Start tiers side by side (default: profile.default_tiers()); wait until each is
        ready or failed. Members of a swap group stop the running partner first."""
        names = list(tier_names) if tier_names else profile.default_tiers()
        tiers = [profile.tier(n) for n in names]
        local = [t for t in tiers if not t.is_remote]
        for t in tiers:
            if t.is_remote:
                self._step(Step("skip", t.name, profile.name,
                                f"{t.name} is remote ({t.model}): nothing to start"), on_step)
        for i, a in enumerate(local):
            for b in local[i + 1:]:
                if b.name in profile.swap_partners(a.name):
                    raise SupervisorError(
                        f"{a.name} and {b.name} are in one swap group of {profile.name}: "
                        "start one of them (or use switch)")
        for t in local:
            check_startable(profile, t)
        for t in local:
            for partner in profile.swap_partners(t.name):
                self._stop_if_running(profile.name, partner, on_step)
        started: list[ManagedServer] = []
        for t in local:
            started.append(self._start(profile, t, on_step))
        return [self._wait_settled(s, profile, on_step) for s in started]

    def switch(self, profile: Profile, tier_name: str,
               on_step: Callable[[Step], None] | None = None) -> ServerStatus:
        """Swap in one action: stop the running member(s) of the tier's swap group, start it."""
        tier = profile.tier(tier_name)
        if tier.is_remote:
            raise SupervisorError(f"{tier_name} is a remote tier: nothing to switch to")
        return self.up(profile, [tier_name], on_step=on_step)[0]

    def down(self, tier_name: str | None = None, profile: str | None = None,
             on_step: Callable[[Step], None] | None = None) -> list[ServerStatus]:
        """Stop one tier's server (or every server when tier_name is None)."""
        self.sync_registry()
        with self._lock:
            if tier_name is None:
                targets = [s for s in self._servers.values()
                           if (s.state in ACTIVE or s.restart_at is not None)
                           and (profile is None or s.profile == profile)]
            else:
                s = self._find_one(tier_name, profile, active_only=True)
                if s is None:
                    raise SupervisorError(f"no running server for tier {tier_name!r}"
                                          + (f" of {profile}" if profile else ""))
                targets = [s]
        threads = [threading.Thread(target=self._stop, args=(s, on_step), daemon=True)
                   for s in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with self._lock:
            return [s.status() for s in targets]

    def close(self) -> None:
        """Stop watching (servers keep running; the next Supervisor adopts them)."""
        self._closed.set()
        self._wake.set()
        if self._monitor and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=2)
        self._http.close()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def forget(self, key: str) -> None:
        """Drop a stopped/crashed/failed server from status()."""
        with self._lock:
            s = self._servers.get(key)
            if s is not None and s.state not in ACTIVE:
                del self._servers[key]

    def wait(self, tier: str, states: tuple[str, ...], timeout: float,
             profile: str | None = None) -> ServerStatus | None:
        """Block until the tier's server is in one of states (or timeout); for tests and tools."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                s = self._find_one(tier, profile, active_only=False)
                if s is not None and s.state in states:
                    return s.status()
                left = deadline - time.monotonic()
                if left <= 0:
                    return s.status() if s else None
                self._cond.wait(min(left, 0.1))

    # ---- registry / adoption ---------------------------------------------------------
    def sync_registry(self) -> None:
        """Adopt live servers other TierDeck processes started; report the dead as crashed."""
        self._last_sync = time.monotonic()
        mtime = self.registry.mtime()
        if mtime == self._registry_mtime:
            return
        events: list[Event] = []
        self._registry_mtime = mtime  # a write of ours changes it: one more read, then quiet
        with self.registry.locked() as entries:
            for key, e in list(entries.items()):
                with self._lock:
                    mine = self._servers.get(key)
                    if mine is not None and mine.pid == e.pid and mine.state in ACTIVE:
                        continue
                    if mine is not None and mine.popen is not None and mine.state in ACTIVE:
                        continue
                live = process_matches(e.pid, e.create_time)
                if live is None:
                    if e.state == "stopping" or _owner_alive(e):
                        # being stopped, or its owner handles the crash (and maybe restarts)
                        if e.state == "stopping":
                            del entries[key]
                        continue
                    del entries[key]  # stale: dead and nobody left to care
                    s = self._server_from_entry(e)
                    lines = s.tail.tail(80) if s.tail else []
                    s.failure = classify_failure(lines, None)
                    s.state, s.reason = "crashed", s.failure.message
                    s.detail = "found dead in the registry"
                    with self._lock:
                        self._servers[key] = s
                    events.append(self._state_event(s, "stopped"))
                    continue
                s = self._server_from_entry(e)
                s.ps = live
                s.state = "stopping" if e.state == "stopping" else "starting"
                s.detail = "adopted: checking health"
                with self._lock:
                    self._servers[key] = s
                events.append(self._state_event(s, "stopped"))
        with self._lock:
            # Servers another process stopped or removed.
            for key, s in self._servers.items():
                if s.adopted and s.state in ("starting", "ready") and key not in entries \
                        and not proc_mod.alive(s.pid, s.create_time):
                    prev = s.state
                    s.state, s.detail = "stopped", "stopped by another TierDeck process"
                    events.append(self._state_event(s, prev))
            self._cond.notify_all()
        self._ensure_monitor()
        self._emit(events)

    def _server_from_entry(self, e: Entry) -> ManagedServer:
        tier = None
        if e.profile_path:
            with contextlib.suppress(Exception):
                from tierdeck.core.profiles import load_profile  # noqa: PLC0415

                tier = load_profile(e.profile_path).tiers.get(e.tier)
        s = ManagedServer(
            key=e.key, profile=e.profile, tier_name=e.tier, tier=tier, host=e.host, port=e.port,
            alias=e.alias, command=list(e.command), display=e.display, env={},
            log_path=Path(e.log_path), pid=e.pid, create_time=e.create_time,
            started_at=e.started_at, started_mono=time.monotonic(), planned_bytes=e.planned_bytes,
            plan=e.plan, adopted=True, owner_pid=e.owner_pid, restarts=e.restarts,
            api_key_set=e.api_key_set, profile_path=e.profile_path,
        )
        if tier is not None:
            s.load_timeout_s = tier.load_timeout_s
            # The entry keeps no secrets: a restart of an adopted server needs them again.
            s.env = dict(tier.env)
            if tier.api_key and "--api-key" not in s.command:
                s.env["LLAMA_API_KEY"] = tier.api_key
        s.parser = MemoryLogParser()
        s.tail = LogTail(s.log_path)
        self._read_log(s, emit=False)
        return s

    # ---- start / stop ----------------------------------------------------------------
    def _binary_path(self) -> Path:
        if self._binary is None:
            from tierdeck.core.servers.binary import find_llama_server  # noqa: PLC0415

            self._binary = find_llama_server(self.settings.llama_server).path
        return self._binary

    def _start(self, profile: Profile, tier: Tier, on_step) -> ManagedServer:
        key = f"{profile.name}/{tier.name}"
        with self._lock:
            cur = self._servers.get(key)
            if cur is not None and cur.state in ("starting", "ready"):
                self._step(Step("skip", tier.name, profile.name,
                                f"{tier.name} already {cur.state} on {cur.base_url}"), on_step)
                return cur
        binary = self._binary_path()
        features = detect_features(binary)
        plan: TierPlan = plan_tier(tier, self.settings.reserve_mib)
        port = tier.port if tier.port is not None else free_port(tier.host)
        cmd = build_command(tier, binary, port, features, ctx_per_slot=plan.ctx_per_slot)
        log_path = log_path_for(profile.name, tier.name)
        s = ManagedServer(
            key=key, profile=profile.name, tier_name=tier.name, tier=tier, host=tier.host,
            port=port, alias=tier.alias, command=cmd.argv, display=cmd.display(), env=cmd.env,
            log_path=log_path, planned_bytes=plan.planned_bytes, plan=plan.to_dict(),
            load_timeout_s=tier.load_timeout_s, api_key_set=bool(tier.api_key),
            profile_path=str(profile.path),
        )
        with self._lock:
            old = self._servers.get(key)
            if old is not None:
                s.restarts = old.restarts if old.restart_at else 0
            self._servers[key] = s
        self._step(Step("start", tier.name, profile.name,
                        f"starting {tier.name} on {s.base_url}: {s.display}"), on_step)
        self._spawn(s)
        return s

    def _spawn(self, s: ManagedServer) -> None:
        # Under the lock from the stop check to the registry entry: a down() that comes while
        # a start is being prepared either stops it before launch or sees its pid.
        with self._lock:
            if s.stop_requested:
                return
            s.parser = MemoryLogParser()
            s.loaded = None
            s.failure = None
            s.reason = ""
            s.timing_out = False
            try:
                fd = open_for_server(s.log_path)
                s.tail = LogTail(s.log_path)
                s.popen = proc_mod.spawn(s.command, s.env, fd)
            except OSError as e:
                prev = s.state
                s.failure = Failure("exited", "could not start llama-server",
                                    f"{s.command[0]}: {e.strerror or e}")
                s.state, s.reason = "failed", s.failure.message
                self._cond.notify_all()
                event = self._state_event(s, prev)
            else:
                event = self._launched(s)
        self._emit([event])
        self._ensure_monitor()
        self._wake.set()

    def _launched(self, s: ManagedServer) -> StateChanged:
        s.pid = s.popen.pid
        try:
            s.create_time = psutil.Process(s.pid).create_time()
        except psutil.Error:
            s.create_time = 0.0
        s.started_at = time.time()
        s.started_mono = time.monotonic()
        s.owner_pid = _self_pid()
        self.registry.put(Entry(
            profile=s.profile, tier=s.tier_name, pid=s.pid, create_time=s.create_time,
            host=s.host, port=s.port, alias=s.alias, command=s.command, display=s.display,
            started_at=s.started_at, log_path=str(s.log_path), profile_path=s.profile_path,
            model_path=str(s.tier.model_path) if s.tier else "",
            planned_bytes=s.planned_bytes, plan=s.plan, api_key_set=s.api_key_set,
            owner_pid=s.owner_pid, restarts=s.restarts,
        ))
        prev = s.state if s.state != "starting" else "stopped"
        s.state, s.detail = "starting", "launching"
        self._cond.notify_all()
        return self._state_event(s, prev)

    def _wait_settled(self, s: ManagedServer, profile: Profile, on_step) -> ServerStatus:
        with self._cond:
            while s.state in ("starting", "stopping") or (s.state == "crashed" and s.restart_at):
                if self._closed.is_set():
                    break
                self._cond.wait(0.1)
            st = s.status()
        if st.state == "failed" and s.failure and s.failure.kind == "port_in_use" \
                and s.tier is not None and s.tier.port is None and not s.retried:
            # An auto port taken between our check and the server's bind: pick another once.
            s2 = self._start_retry(profile, s.tier, on_step)
            return self._wait_settled(s2, profile, on_step)
        if st.state == "ready":
            self._step(Step("ready", s.tier_name, s.profile,
                            f"{s.tier_name} ready on {s.base_url} as {s.alias}"), on_step)
        elif st.state == "stopped":
            self._step(Step("cancelled", s.tier_name, s.profile,
                            f"{s.tier_name} stopped before it was ready"), on_step)
        else:
            self._step(Step("failed", s.tier_name, s.profile,
                            f"{s.tier_name} {st.state}: {st.reason}"), on_step)
        return st

    def _start_retry(self, profile: Profile, tier: Tier, on_step) -> ManagedServer:
        s = self._start(profile, tier, on_step)
        s.retried = True
        return s

    def _stop_if_running(self, profile: str, tier: str, on_step) -> None:
        with self._lock:
            s = self._servers.get(f"{profile}/{tier}")
            if s is None or s.state not in ACTIVE:
                return
        self._stop(s, on_step)

    def _stop(self, s: ManagedServer, on_step=None) -> None:
        with self._lock:
            if s.state not in ACTIVE and not s.restart_at:
                return
            prev = s.state
            s.stop_requested = True
            s.restart_at = None
            s.state, s.detail = "stopping", "SIGTERM"
            self._cond.notify_all()
        self._emit([self._state_event(s, prev)])
        self._step(Step("stop", s.tier_name, s.profile, f"stopping {s.tier_name} (pid {s.pid})"),
                   on_step)
        self.registry.mark_stopping(s.key, s.pid)
        timeout = s.tier.stop_timeout_s if s.tier else 10.0
        how = "gone" if s.pid else "unlaunched"
        if s.pid:
            how = proc_mod.terminate(s.pid, s.popen, timeout, s.create_time or None)
        self.registry.remove(s.key, s.pid)
        self._read_log(s, emit=False)
        with self._lock:
            prev = s.state
            s.state = "stopped"
            s.detail = {"term": "stopped", "kill": f"killed: no exit {timeout:g} s after SIGTERM",
                        "gone": "already gone", "unlaunched": "stopped before launch"}[how]
            self._cond.notify_all()
        self._emit([self._state_event(s, prev)])
        self._step(Step("stopped", s.tier_name, s.profile, f"{s.tier_name} {s.detail}"), on_step)

    # ---- monitor ---------------------------------------------------------------------
    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._run_monitor,
                                                 name="tierdeck-supervisor", daemon=True)
                self._monitor.start()

    def _run_monitor(self) -> None:
        while not self._closed.is_set():
            try:
                self._tick()
            except Exception as e:  # the monitor must survive a bad log line or a race
                import logging  # noqa: PLC0415

                logging.getLogger(__name__).exception("supervisor tick failed: %s", e)
            with self._lock:
                busy = any(s.state == "starting" or s.restart_at for s in self._servers.values())
            # Idle: a slower beat; a spawn sets _wake so the first health poll is not delayed.
            self._wake.wait(self.poll_interval_s if busy else max(self.poll_interval_s, 0.2))
            self._wake.clear()

    def _tick(self) -> None:
        if time.monotonic() - self._last_sync > 0.5:
            self.sync_registry()
        with self._lock:
            servers = list(self._servers.values())
        for s in servers:
            if s.state in ("starting", "ready") or (s.state == "stopping" and not s.stop_requested):
                self._read_log(s, emit=True)
                self._check_exit(s)
            if s.state == "starting" and not s.timing_out and s.pid:
                self._check_health(s)
            if s.restart_at is not None and time.monotonic() >= s.restart_at:
                self._restart(s)

    def _read_log(self, s: ManagedServer, emit: bool) -> None:
        """New log lines into the tail and the memory parser; LogLine events outside the lock."""
        with self._lock:  # the monitor and a stopping thread may both read: one at a time
            if s.tail is None:
                return
            with contextlib.suppress(OSError):
                s.tail.rotate_if_big()
            new = s.tail.read_new()
            if new and s.parser is not None:
                for line in new:
                    with contextlib.suppress(Exception):
                        s.parser.feed(line)
        if new and emit:
            self._emit([LogLine(s.key, s.tier_name, s.profile, line) for line in new])

    def _exit_code(self, s: ManagedServer) -> tuple[bool, int | None]:
        if s.popen is not None:
            rc = s.popen.poll()
            return rc is not None, rc
        if s.ps is None:
            try:
                s.ps = psutil.Process(s.pid)
            except psutil.Error:
                return True, None
        try:
            if not s.ps.is_running() or s.ps.status() == psutil.STATUS_ZOMBIE:
                return True, None
        except psutil.Error:
            return True, None
        return False, None

    def _check_exit(self, s: ManagedServer) -> None:
        if not s.pid:
            return  # listed, not spawned yet
        exited, rc = self._exit_code(s)
        if not exited:
            return
        self._read_log(s, emit=True)
        # Registry first, our lock second: the order sync_registry() takes them in. The entry
        # goes before the state changes, so whoever waits for "failed" sees a clean registry.
        entry = self.registry.read().get(s.key)
        owner_elsewhere = s.popen is None and _owner_alive_pid(s.owner_pid)
        with self._lock:
            if s.stop_requested or s.state not in ("starting", "ready", "stopping"):
                return
            prev = s.state
        on_purpose = prev == "stopping" or entry is None or entry.pid != s.pid \
            or entry.state == "stopping"
        if not on_purpose and not owner_elsewhere:
            self.registry.remove(s.key, s.pid)
        with self._lock:
            if s.stop_requested:
                return
            if on_purpose:
                s.state, s.detail = "stopped", "stopped by another TierDeck process"
            else:
                lines = s.tail.tail(120) if s.tail else []
                s.failure = classify_failure(lines, rc)
                s.state = "failed" if prev == "starting" else "crashed"
                s.reason = s.failure.message
                s.detail = describe_exit(rc) if rc is not None else "process gone"
                if not owner_elsewhere and self._should_restart(s):
                    assert s.tier is not None
                    delay = min(60.0, s.tier.restart_backoff_s * (2 ** s.restarts))
                    s.restart_at = time.monotonic() + delay
                    s.detail = (f"restart {s.restarts + 1}/{s.tier.restart_max} in {delay:g} s "
                                f"({s.detail})")
            self._cond.notify_all()
            ev = self._state_event(s, prev)
        self._emit([ev])

    def _should_restart(self, s: ManagedServer) -> bool:
        t = s.tier
        if t is None or t.restart != "on" or s.stop_requested:
            return False
        if s.failure and s.failure.kind in ("bad_flag", "model_not_found", "model_corrupt",
                                            "port_in_use"):
            return False  # the same command would fail the same way
        return s.restarts < t.restart_max

    def _restart(self, s: ManagedServer) -> None:
        with self._lock:
            if s.restart_at is None or s.stop_requested:
                return
            s.restart_at = None
            s.restarts += 1
            s.adopted = False
        self._spawn(s)

    def _check_health(self, s: ManagedServer) -> None:
        try:
            r = self._http.get(f"{s.base_url}/health")
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            self._read_log(s, emit=True)
            with self._lock:
                if s.state != "starting":
                    return
                s.state, s.detail = "ready", f"ready in {time.monotonic() - s.started_mono:.2f} s"
                if s.adopted:
                    s.detail = "adopted"
                if s.parser is not None:
                    with contextlib.suppress(Exception):
                        s.loaded = s.parser.result
                self._cond.notify_all()
                ev = self._state_event(s, "starting")
            self._emit([ev])
            if not s.adopted:
                self._record_load(s)
            return
        p = load_progress(s.tail) if s.tail else None
        s.detail = f"loading model {p:.0%}" if p is not None else "loading"
        owner_loading = s.adopted and _owner_alive_pid(s.owner_pid)  # its owner decides
        if time.monotonic() - s.started_mono > s.load_timeout_s and not s.timing_out \
                and not owner_loading:
            s.timing_out = True
            threading.Thread(target=self._timeout, args=(s,), daemon=True).start()

    def _timeout(self, s: ManagedServer) -> None:
        lines = s.tail.tail(80) if s.tail else []
        failure = timeout_failure(s.load_timeout_s, lines)
        with self._lock:
            s.stop_requested = True
        self.registry.mark_stopping(s.key, s.pid)
        timeout = s.tier.stop_timeout_s if s.tier else 10.0
        proc_mod.terminate(s.pid, s.popen, timeout, s.create_time or None)
        self.registry.remove(s.key, s.pid)
        with self._lock:
            prev = s.state
            s.failure = failure
            s.state, s.reason = "failed", failure.message
            self._cond.notify_all()
            ev = self._state_event(s, prev)
        self._emit([ev])

    def _record_load(self, s: ManagedServer) -> None:
        """Planned next to loaded: how far the plan was off, for calibration and the UI."""
        loaded = s.loaded.to_dict() if hasattr(s.loaded, "to_dict") else None
        rec = {
            "time": time.time(), "profile": s.profile, "tier": s.tier_name,
            "model": str(s.tier.model_path) if s.tier else "", "command": s.command,
            "planned_bytes": s.planned_bytes, "plan": s.plan, "loaded": loaded,
        }
        with contextlib.suppress(OSError, TypeError, ValueError):
            path = ensure_dir(app_dirs().data) / LOADS_FILE
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, default=str) + "\n")

    # ---- helpers ---------------------------------------------------------------------
    def _find_one(self, tier: str, profile: str | None, active_only: bool) -> ManagedServer | None:
        matches = [s for s in self._servers.values()
                   if s.tier_name == tier and (profile is None or s.profile == profile)
                   and (not active_only or s.state in ACTIVE or s.restart_at is not None)]
        if not matches:
            return None
        active = [s for s in matches if s.state in ACTIVE]
        if len(active) > 1 and profile is None:
            raise SupervisorError(
                f"tier {tier!r} runs in several profiles ({', '.join(s.profile for s in active)}): "
                "name the profile")
        return (active or matches)[-1]

    def _state_event(self, s: ManagedServer, previous: str) -> StateChanged:
        return StateChanged(s.key, s.tier_name, s.profile, s.state, previous, s.reason, s.status())

    def _step(self, step: Step, on_step) -> None:
        if on_step is not None:
            with contextlib.suppress(Exception):
                on_step(step)
        self._emit([step])

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            subs = list(self._subs)
        for ev in events:
            for cb in subs:
                try:
                    cb(ev)
                except Exception:
                    import logging  # noqa: PLC0415

                    logging.getLogger(__name__).exception("subscriber failed")


def _self_pid() -> int:
    import os  # noqa: PLC0415

    return os.getpid()


def _owner_alive_pid(pid: int) -> bool:
    if not pid or pid == _self_pid():
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _owner_alive(e: Entry) -> bool:
    return _owner_alive_pid(e.owner_pid)


def _load_settings() -> Settings:
    try:
        return Settings.load()
    except Exception:
        return Settings()


__all__ = [
    "LogLine", "ProfileError", "ServerStatus", "StateChanged", "Step", "Supervisor",
    "SupervisorError", "free_port",
]
