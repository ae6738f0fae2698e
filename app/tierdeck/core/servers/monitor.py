"""Watching servers: log tails, /health while loading, exits and their reasons, restarts.

One thread per Supervisor. Each tick reads new log lines (memory lines and progress come
from them), polls /health of loading servers, notices exits and classifies them, stops a
server that is not ready in time, applies the restart policy, and every half second picks
up registry changes made by other TierDeck processes. Lock order: see hub.py.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import httpx
import psutil

from tierdeck.core.servers import lifecycle
from tierdeck.core.servers import process as proc_mod
from tierdeck.core.servers.adoption import owner_alive, same_launch
from tierdeck.core.servers.classify import classify_failure, describe_exit, timeout_failure
from tierdeck.core.servers.events import LogLine
from tierdeck.core.servers.hub import Hub
from tierdeck.core.servers.launcher import Launcher
from tierdeck.core.servers.lifecycle import State
from tierdeck.core.servers.loads import append_load, load_record
from tierdeck.core.servers.server import ManagedServer, load_progress

log = logging.getLogger("tierdeck.core.servers.supervisor")
SYNC_EVERY_S = 0.5
# The same command would fail the same way: no restart.
NO_RESTART = ("bad_flag", "model_not_found", "model_corrupt", "port_in_use")


class Monitor:
    def __init__(self, hub: Hub, sync: Callable[[], None]):
        self.hub = hub
        self.sync = sync
        self.launcher: Launcher | None = None  # set by the Supervisor (restarts launch)
        self.thread: threading.Thread | None = None
        self.last_sync = 0.0
        # Run once on the monitor thread before the first tick (the stray sweep: a process
        # scan and maybe a SIGTERM wait, kept off the thread that made the Supervisor).
        self.first: Callable[[], None] | None = None

    def ensure_running(self) -> None:
        hub = self.hub
        with hub.lock:
            if hub.closed.is_set():
                return
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="tierdeck-supervisor",
                                               daemon=True)
                self.thread.start()

    def _run(self) -> None:
        hub = self.hub
        first, self.first = self.first, None
        if first is not None:
            try:
                first()
            except Exception:  # logged; watching the servers matters more
                log.exception("supervisor start-up sweep failed")
        while not hub.closed.is_set():
            try:
                self.tick()
            except Exception:  # the monitor must survive a bad log line or a race: logged
                log.exception("supervisor tick failed")
            with hub.lock:
                busy = any(s.state == State.STARTING or s.restart_at for s in hub.servers.values())
            # Idle: a slower beat; a spawn sets wake so the first health poll is not delayed.
            hub.wake.wait(hub.poll_interval_s if busy else max(hub.poll_interval_s, 0.2))
            hub.wake.clear()

    def tick(self) -> None:
        hub = self.hub
        if time.monotonic() - self.last_sync > SYNC_EVERY_S:
            self.sync()
        with hub.lock:
            servers = list(hub.servers.values())
        for s in servers:
            if self._watched(s):
                self.read_log(s, True)
                self.check_exit(s)
            if s.state == State.STARTING and s.pid:
                self.check_health(s)
            if s.state == State.STOPPING and s.stop_by == "elsewhere" \
                    and s.owner_pid != os.getpid() and not owner_alive(s.owner_pid):
                # Its stopper died mid-stop (a wedged server may ignore SIGTERM): finish it.
                assert self.launcher is not None
                threading.Thread(target=self.launcher.stop, args=(s,), daemon=True).start()
            if s.restart_at is not None and time.monotonic() >= s.restart_at:
                self.restart(s)

    # ---- log ---------------------------------------------------------------------------
    def read_log(self, s: ManagedServer, emit: bool) -> None:
        """New log lines into the tail and the memory parser; LogLine events outside the lock."""
        with self.hub.lock:  # the monitor and a stopping thread may both read: one at a time
            if s.tail is None:
                return
            try:
                s.tail.rotate_if_big()
            except OSError as e:
                log.warning("cannot rotate %s: %s", s.log_path, e)
            new = s.tail.read_new()
            if new and s.parser is not None:
                for line in new:
                    try:
                        s.parser.feed(line)
                    except ValueError:  # a number the regex took but float() will not
                        log.warning("%s: unparsed memory line: %r", s.key, line)
        if new and emit:
            self.hub.emit([LogLine(s.key, s.tier_name, s.profile, line) for line in new])

    # ---- exits -------------------------------------------------------------------------
    def _exit_code(self, s: ManagedServer) -> tuple[bool, int | None]:
        if s.popen is not None:
            rc = s.popen.poll()
            return rc is not None, rc
        if s.ps is None:
            s.ps = proc_mod.identify(s.pid, s.create_time or None)
            if s.ps is None:
                return True, None
        try:
            # is_running() compares the creation time too: a reused PID is not our server.
            if not s.ps.is_running() or s.ps.status() == psutil.STATUS_ZOMBIE:
                return True, None
        except psutil.Error:
            return True, None
        return False, None

    def check_exit(self, s: ManagedServer) -> None:
        hub = self.hub
        with hub.lock:
            pid, prev = s.pid, s.state
            if not pid or not self._watched(s):
                return  # listed, not spawned yet; or a thread of ours is stopping it
        exited, rc = self._exit_code(s)
        if not exited:
            return
        self.read_log(s, True)
        entry = hub.registry.read().get(s.key)  # no supervisor lock held (hub.py)
        owner_elsewhere = s.popen is None and owner_alive(s.owner_pid)
        on_purpose = prev == State.STOPPING or entry is None or not same_launch(entry, s) \
            or entry.state == "stopping"
        if not on_purpose and not owner_elsewhere:
            hub.registry.remove(s.key, s.pid, s.launch_id)
        with hub.changes() as move:
            if s.state != prev or s.pid != pid or not self._watched(s):
                return  # a stop or restart of ours got there first
            if on_purpose:
                move(s, State.STOPPED, detail="stopped by another TierDeck process")
                s.stop_by = ""
                return
            lines = s.tail.tail(120) if s.tail else []
            s.failure = classify_failure(lines, rc)
            detail = describe_exit(rc) if rc is not None else "process gone"
            if not owner_elsewhere and self.should_restart(s):
                assert s.tier is not None
                delay = min(60.0, s.tier.restart_backoff_s * (2 ** s.restarts))
                s.restart_at = time.monotonic() + delay
                detail = f"restart {s.restarts + 1}/{s.tier.restart_max} in {delay:g} s ({detail})"
            to = State.FAILED if prev == State.STARTING else State.CRASHED
            move(s, to, detail=detail, reason=s.failure.message)

    @staticmethod
    def _watched(s: ManagedServer) -> bool:
        """Exits the monitor reports: running ones, and stops another process carries out."""
        return lifecycle.live(s.state) or (s.state == State.STOPPING and s.stop_by == "elsewhere")

    def should_restart(self, s: ManagedServer) -> bool:
        t = s.tier
        if t is None or t.restart != "on":
            return False
        if s.failure and s.failure.kind in NO_RESTART:
            return False
        return s.restarts < t.restart_max

    def restart(self, s: ManagedServer) -> None:
        with self.hub.changes() as move:
            if s.restart_at is None or not lifecycle.problem(s.state):
                return
            s.restart_at = None
            s.restarts += 1
            s.adopted = False
            s.pid, s.popen, s.create_time, s.ps = 0, None, 0.0, None
            move(s, State.STARTING, detail="restarting")
        assert self.launcher is not None
        self.launcher.launch(s)

    # ---- health and load timeout ------------------------------------------------------
    def check_health(self, s: ManagedServer) -> None:
        hub = self.hub
        try:
            ok = hub.http.get(f"{s.base_url}/health").status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            self.read_log(s, True)
            with hub.changes() as move:
                if s.state != State.STARTING:
                    return
                if s.parser is not None:
                    s.loaded = s.parser.result
                detail = "adopted" if s.adopted else \
                    f"ready in {time.monotonic() - s.started_mono:.2f} s"
                move(s, State.READY, detail=detail)
            if not s.adopted:
                self.record_load(s)
            return
        p = load_progress(s.tail) if s.tail else None
        owner_loading = s.adopted and owner_alive(s.owner_pid)  # its owner decides
        with hub.changes() as move:
            if s.state != State.STARTING:
                return
            s.detail = f"loading model {p:.0%}" if p is not None else "loading"
            if time.monotonic() - s.started_mono > s.load_timeout_s and not owner_loading:
                s.stop_by = "here"
                move(s, State.STOPPING, detail=f"not ready after {s.load_timeout_s:g} s: stopping")
                threading.Thread(target=self._timeout, args=(s,), daemon=True).start()

    def _timeout(self, s: ManagedServer) -> None:
        hub = self.hub
        lines = s.tail.tail(80) if s.tail else []
        failure = timeout_failure(s.load_timeout_s, lines)
        timeout = s.tier.stop_timeout_s if s.tier else 10.0
        assert self.launcher is not None
        how = self.launcher.terminate(s.key, s.pid, s.launch_id, s.popen, s.create_time, timeout)
        with hub.changes() as move:
            s.failure = failure
            s.stop_by = ""
            move(s, State.FAILED, detail=f"stopped ({how})", reason=failure.message)

    def record_load(self, s: ManagedServer) -> None:
        """Planned next to loaded: how far the plan was off, for calibration and the UI."""
        loaded = s.loaded.to_dict() if s.loaded is not None else None
        append_load(load_record(s.profile, s.tier_name, str(s.tier.model_path) if s.tier else "",
                                s.command, s.planned_bytes, s.plan, loaded))

