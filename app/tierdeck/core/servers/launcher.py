"""Launching and stopping servers: plan, registry entry first, spawn, then the pid.

No server exists without a registry entry: the entry (state "launching", command, port,
log, launch id) is written before the spawn and the pid filled in after; the process also
carries its registry key and launch id in its environment (marks.py). A TierDeck killed at
any moment leaves either an entry for a process that never ran (found stale) or a marked
process the next TierDeck finds. Lock order: see hub.py.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import psutil

from tierdeck.core.profiles import Profile, Tier
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers import process as proc_mod
from tierdeck.core.servers.classify import Failure
from tierdeck.core.servers.cmdline import Command, Features, build_command, detect_features
from tierdeck.core.servers.events import ServerStatus, Step
from tierdeck.core.servers.hub import Hub
from tierdeck.core.servers.lifecycle import State
from tierdeck.core.servers.logfiles import LogTail, log_path_for, open_for_server
from tierdeck.core.servers.marks import mark_env, new_launch_id
from tierdeck.core.servers.memlog import MemoryLogParser
from tierdeck.core.servers.registry import Entry
from tierdeck.core.servers.server import ManagedServer, free_port
from tierdeck.core.servers.tierplan import TierPlan, plan_tier

log = logging.getLogger("tierdeck.core.servers.supervisor")
OnStep = Callable[[Step], None] | None
STOP_DETAIL = {"term": "stopped", "gone": "already gone", "unlaunched": "stopped before launch"}


def tier_command(tier: Tier, binary, port: int, features: Features, reserve_mib: int,
                 detection=None) -> tuple[TierPlan, Command]:
    """The tier's plan and the argv it starts with: the planned context, and over several
    devices the planned split (-sm/-ts/-mg), so what runs is what was planned.
    detection: see plan_tier (a Detection, or a function giving one when it is needed)."""
    plan = plan_tier(tier, reserve_mib, detection=detection)
    cmd = build_command(tier, binary, port, features, ctx_per_slot=plan.ctx_per_slot,
                        device_args=plan.device_args)
    return plan, cmd


class Launcher:
    def __init__(self, hub: Hub, read_log: Callable[[ManagedServer, bool], None]):
        self.hub = hub
        self.read_log = read_log

    # ---- start ------------------------------------------------------------------------
    def start(self, profile: Profile, tier: Tier, on_step: OnStep) -> ManagedServer:
        hub = self.hub
        key = f"{profile.name}/{tier.name}"
        with hub.lock:
            cur = hub.servers.get(key)
            if cur is not None and lifecycle.live(cur.state):
                hub.step(Step("skip", tier.name, profile.name,
                              f"{tier.name} already {cur.state} on {cur.base_url}"), on_step)
                return cur
        binary = hub.binary_path()
        features = detect_features(binary)
        port = tier.port if tier.port is not None else free_port(tier.host)
        reserve = hub.settings.reserve_mib
        plan, cmd = tier_command(tier, binary, port, features, reserve,
                                 detection=lambda: hub.detect(reserve))
        s = ManagedServer(
            key=key, profile=profile.name, tier_name=tier.name, tier=tier, host=tier.host,
            port=port, alias=tier.alias, command=cmd.argv, display=cmd.display(), env=cmd.env,
            log_path=log_path_for(profile.name, tier.name), planned_bytes=plan.planned_bytes,
            plan=plan.to_dict(), load_timeout_s=tier.load_timeout_s,
            api_key_set=bool(tier.api_key), profile_path=str(profile.path),
        )
        with hub.changes() as move:
            old = hub.servers.get(key)
            if old is not None:
                s.restarts = old.restarts if old.restart_at else 0
            hub.servers[key] = s
            move(s, State.STARTING, detail="launching")
        hub.step(Step("start", tier.name, profile.name,
                      f"starting {tier.name} on {s.base_url}: {s.display}"), on_step)
        self.launch(s)
        return s

    def launch(self, s: ManagedServer) -> None:
        """Entry, spawn, pid: s is "starting" with no process (new, or a restart)."""
        hub = self.hub
        with hub.lock:
            if s.state != State.STARTING or s.pid:
                return  # stopped while being prepared
            s.launch_id = new_launch_id()
            s.owner_pid = os.getpid()
            entry = self._entry(s)
        try:
            hub.registry.put(entry)  # before the process exists: nothing runs unregistered
        except OSError as e:
            with hub.changes() as move:
                if s.state == State.STARTING and not s.pid:
                    s.failure = Failure("exited", "not started: cannot write the registry",
                                        f"{hub.registry.path}: {e.strerror or e}")
                    move(s, State.FAILED, detail="not started", reason=s.failure.message)
            return
        spawned = False
        with hub.changes() as move:
            # The stop check and the spawn are one step under the lock: a stop either
            # cancels the launch here or sees the pid afterwards.
            if s.state == State.STARTING and not s.pid:
                spawned = self._spawn(s, move)
            launch_id, pid, create_time = s.launch_id, s.pid, s.create_time
        if spawned and not hub.registry.set_launched(s.key, launch_id, pid, create_time) \
                and s.state == State.STARTING:
            # Someone else removed the entry meanwhile (a registry set aside as damaged):
            # the mark in its environment still finds the server. (A stop of ours that won
            # the race removes it on purpose: the state is no longer starting then.)
            log.warning("%s: registry entry gone before its pid %d was written", s.key, pid)
        elif not spawned:
            hub.registry.remove(s.key, launch_id=launch_id)
        hub.wake.set()

    def _spawn(self, s: ManagedServer, move) -> bool:
        s.parser = MemoryLogParser()
        s.loaded = None
        s.failure = None
        try:
            fd = open_for_server(s.log_path)
            s.tail = LogTail(s.log_path)
            env = {**s.env, **mark_env(self.hub.registry.folder, s.key, s.launch_id,
                                       s.owner_pid)}
            s.popen = proc_mod.spawn(s.command, env, fd)
        except OSError as e:
            s.failure = Failure("exited", "could not start llama-server",
                                f"{s.command[0]}: {e.strerror or e}")
            move(s, State.FAILED, detail="not started", reason=s.failure.message)
            return False
        s.pid = s.popen.pid
        try:
            s.create_time = psutil.Process(s.pid).create_time()
        except psutil.Error:  # already gone (a bad flag exits at once): the monitor says why
            s.create_time = 0.0
        s.ps = None
        s.started_at = time.time()
        s.started_mono = time.monotonic()
        s.adopted = False
        s.detail = "loading"
        return True

    def _entry(self, s: ManagedServer) -> Entry:
        return Entry(
            profile=s.profile, tier=s.tier_name, pid=0, create_time=0.0, host=s.host,
            port=s.port, alias=s.alias, command=s.command, display=s.display,
            started_at=time.time(), log_path=str(s.log_path), profile_path=s.profile_path,
            model_path=str(s.tier.model_path) if s.tier else "",
            planned_bytes=s.planned_bytes, plan=s.plan, api_key_set=s.api_key_set,
            state="launching", owner_pid=s.owner_pid, restarts=s.restarts, launch_id=s.launch_id,
        )

    def wait_settled(self, s: ManagedServer, profile: Profile, on_step: OnStep) -> ServerStatus:
        hub = self.hub
        with hub.cond:
            while lifecycle.busy(s.state) or (lifecycle.problem(s.state) and s.restart_at):
                if hub.closed.is_set():
                    break
                hub.cond.wait(0.1)
            st = s.status()
        if st.state == State.FAILED and s.failure and s.failure.kind == "port_in_use" \
                and s.tier is not None and s.tier.port is None and not s.retried:
            # An auto port taken between our check and the server's bind: pick another once.
            s2 = self.start(profile, s.tier, on_step)
            s2.retried = True
            return self.wait_settled(s2, profile, on_step)
        if st.state == State.READY:
            msg, action = f"{s.tier_name} ready on {s.base_url} as {s.alias}", "ready"
        elif st.state == State.STOPPED:
            msg, action = f"{s.tier_name} stopped before it was ready", "cancelled"
        else:
            msg, action = f"{s.tier_name} {st.state}: {st.reason}", "failed"
        hub.step(Step(action, s.tier_name, s.profile, msg), on_step)
        return st

    # ---- stop -------------------------------------------------------------------------
    def stop_if_running(self, profile: str, tier: str, on_step: OnStep) -> None:
        with self.hub.lock:
            s = self.hub.servers.get(f"{profile}/{tier}")
            if s is None or not lifecycle.active(s.state):
                return
        self.stop(s, on_step)

    def stop(self, s: ManagedServer, on_step: OnStep = None) -> None:
        hub = self.hub
        with hub.changes() as move:
            while s.state == State.STOPPING and s.stop_by == "here":
                hub.cond.wait(0.1)  # another thread of ours is stopping it: wait for that
            if not lifecycle.active(s.state) and not s.restart_at:
                return
            s.restart_at = None
            if s.state == State.STOPPING:
                s.stop_by = "here"  # another process began; we finish (it may be dead)
            else:
                s.stop_by = "here"
                move(s, State.STOPPING, detail="SIGTERM")
            pid, launch_id, popen, create_time = s.pid, s.launch_id, s.popen, s.create_time
        hub.step(Step("stop", s.tier_name, s.profile, f"stopping {s.tier_name} (pid {pid})"),
                 on_step)
        timeout = s.tier.stop_timeout_s if s.tier else 10.0
        how = self.terminate(s.key, pid, launch_id, popen, create_time, timeout)
        self.read_log(s, False)
        detail = STOP_DETAIL.get(how, f"killed: no exit {timeout:g} s after SIGTERM")
        with hub.changes() as move:
            move(s, State.STOPPED, detail=detail)
            s.stop_by = ""
        hub.step(Step("stopped", s.tier_name, s.profile, f"{s.tier_name} {detail}"), on_step)

    def terminate(self, key: str, pid: int, launch_id: str, popen, create_time: float,
                  timeout: float) -> str:
        """Registry says "stopping" first (others then read the exit as on purpose), then
        SIGTERM/SIGKILL, then the entry goes. No supervisor lock held (hub.py)."""
        reg = self.hub.registry
        try:
            if not pid:
                if launch_id:  # entry written, spawn cancelled; launch() removes it as well
                    reg.remove(key, launch_id=launch_id)
                return "unlaunched"
            reg.mark_stopping(key, pid, launch_id)
        except OSError:  # an unwritable registry must not keep a server running
            log.exception("%s: registry not updated before the stop", key)
            if not pid:
                return "unlaunched"
        how = proc_mod.terminate(pid, popen, timeout, create_time or None)
        try:
            reg.remove(key, pid, launch_id)
        except OSError:
            log.exception("%s: stopped, but its registry entry could not be removed", key)
        return how

    def stop_strays(self, keys: list[tuple[str, int, float]], on_step: OnStep = None) -> int:
        """Stop marked servers nobody tracks (their registry entry was lost), in parallel."""
        def one(key: str, pid: int, ct: float) -> None:
            profile, _, tier = key.partition("/")
            self.hub.step(Step("stop", tier, profile,
                               f"stopping untracked server {key} (pid {pid})"), on_step)
            how = proc_mod.terminate(pid, None, 10.0, ct)
            self.hub.step(Step("stopped", tier, profile, f"{key} {STOP_DETAIL.get(how, how)}"),
                          on_step)

        threads = [threading.Thread(target=one, args=k, daemon=True) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(threads)
