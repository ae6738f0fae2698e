"""The registry side of the supervisor: adopt what other TierDeck processes run, clean up after
the dead, and find our marked servers the registry lost.

sync(): reads the registry (file lock only), decides with no lock held (psutil checks), drops
stale entries conditionally (by launch id or pid, so a newer entry is never removed), then
applies adoptions under the supervisor lock, re-checking what it saw. strays(): processes
carrying our registry folder's mark (marks.py) that no entry and no tracked server claims.
Lock order: see hub.py.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import psutil

from tierdeck.core.profiles import ProfileError
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers import process as proc_mod
from tierdeck.core.servers.classify import classify_failure
from tierdeck.core.servers.hub import Hub
from tierdeck.core.servers.lifecycle import State
from tierdeck.core.servers.logfiles import LogTail
from tierdeck.core.servers.marks import Marked, find_marked
from tierdeck.core.servers.memlog import MemoryLogParser
from tierdeck.core.servers.registry import Entry
from tierdeck.core.servers.server import ManagedServer

log = logging.getLogger("tierdeck.core.servers.supervisor")


def owner_alive(pid: int) -> bool:
    """Another live TierDeck process owns it (it decides about crashes and restarts)."""
    if not pid or pid == os.getpid():
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def same_launch(e: Entry, s: ManagedServer) -> bool:
    if e.launch_id and s.launch_id:
        return e.launch_id == s.launch_id
    return bool(s.pid) and e.pid == s.pid


class Adoption:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.mtime = -1.0

    def sync(self, force: bool = False) -> None:
        """Adopt live servers other TierDeck processes started; report the dead as crashed."""
        hub = self.hub
        mtime = hub.registry.mtime()
        if mtime == self.mtime and not force:
            return
        self.mtime = mtime  # a write of ours changes it: one more read, then quiet
        entries = hub.registry.read()
        with hub.lock:
            ours = {k: s for k, s in hub.servers.items() if lifecycle.active(s.state)}
        adopt: list[tuple[Entry, psutil.Process | None]] = []
        drop: list[Entry] = []
        marked: dict[str, Marked] | None = None
        for key, e in entries.items():
            mine = ours.get(key)
            if mine is not None and (mine.popen is not None or same_launch(e, mine)):
                continue
            if e.state == "launching" and not e.pid:
                if e.owner_pid == os.getpid() or owner_alive(e.owner_pid):
                    continue  # being launched right now
                if marked is None:
                    marked = {m.launch_id: m for m in find_marked(hub.registry.folder)}
                m = marked.get(e.launch_id)
                if m is None:
                    drop.append(e)  # its TierDeck died before the spawn: nothing ran
                    continue
                # Died between spawn and pid: the mark says which process it is.
                hub.registry.set_launched(key, e.launch_id, m.pid, m.create_time)
                e.pid, e.create_time, e.state = m.pid, m.create_time, "running"
            live = proc_mod.identify(e.pid, e.create_time)
            if live is None:
                if e.state == "stopping":
                    drop.append(e)
                elif not owner_alive(e.owner_pid):  # else its owner reports the crash
                    drop.append(e)
                    adopt.append((e, None))
                continue
            adopt.append((e, live))
        for e in drop:
            hub.registry.remove(e.key, e.pid, e.launch_id)
        built = [(self.from_entry(e), e, live) for e, live in adopt]  # file reads, no lock
        with hub.changes() as move:
            for s, e, live in built:
                cur = hub.servers.get(s.key)
                if cur is not None and lifecycle.active(cur.state) and \
                        (cur.popen is not None or same_launch(e, cur)):
                    continue  # ours after all, or already adopted meanwhile
                if cur is not None and live is None and same_launch(e, cur):
                    continue  # a sync on another thread reported this death already
                hub.servers[s.key] = s
                if live is None:
                    lines = s.tail.tail(80) if s.tail else []
                    s.failure = classify_failure(lines, None)
                    move(s, State.CRASHED, detail="found dead in the registry",
                         reason=s.failure.message)
                elif e.state == "stopping":
                    s.ps, s.stop_by = live, "elsewhere"
                    move(s, State.STOPPING, detail="being stopped by another TierDeck process")
                else:
                    s.ps = live
                    move(s, State.STARTING, detail="adopted: checking health")
            for key, s in hub.servers.items():
                # Servers another process stopped and removed between two of our looks.
                if s.adopted and lifecycle.live(s.state) and key not in entries \
                        and not proc_mod.alive(s.pid, s.create_time):
                    move(s, State.STOPPED, detail="stopped by another TierDeck process")

    def strays(self, orphans_only: bool = False) -> list[Marked]:
        """Our marked servers that no registry entry and no tracked server claims.
        orphans_only: only those whose launching TierDeck is gone (a live one still
        watches its server even if the registry lost it)."""
        hub = self.hub
        marked = find_marked(hub.registry.folder)  # first: an entry precedes its process
        if not marked:
            return []
        entries = hub.registry.read()
        ids = {e.launch_id for e in entries.values() if e.launch_id}
        pids = {e.pid for e in entries.values() if e.pid}
        with hub.lock:
            ids |= {s.launch_id for s in hub.servers.values()
                    if s.launch_id and lifecycle.active(s.state)}
        return [m for m in marked if m.launch_id not in ids and m.pid not in pids
                and not (orphans_only and (m.owner_pid == os.getpid() or owner_alive(m.owner_pid)))]

    def from_entry(self, e: Entry) -> ManagedServer:
        tier = None
        if e.profile_path:
            from tierdeck.core.profiles import load_profile  # noqa: PLC0415

            try:  # Profile.tier: a shared group's engine ("haiku+sonnet") is a tier too
                tier = load_profile(e.profile_path).tier(e.tier)
            except (ProfileError, OSError) as err:  # edited or moved since: no restarts
                log.warning("%s: profile %s not loadable or tier gone: %s", e.key, e.profile_path, err)
        s = ManagedServer(
            key=e.key, profile=e.profile, tier_name=e.tier, tier=tier, host=e.host, port=e.port,
            alias=e.alias, command=list(e.command), display=e.display, env={},
            log_path=Path(e.log_path), pid=e.pid, create_time=e.create_time,
            started_at=e.started_at, started_mono=time.monotonic(), planned_bytes=e.planned_bytes,
            plan=e.plan, adopted=True, owner_pid=e.owner_pid, restarts=e.restarts,
            api_key_set=e.api_key_set, profile_path=e.profile_path, launch_id=e.launch_id,
        )
        if tier is not None:
            s.load_timeout_s = tier.load_timeout_s
            # The entry keeps no secrets: a restart of an adopted server needs them again.
            s.env = dict(tier.env)
            if tier.api_key and "--api-key" not in s.command:
                s.env["LLAMA_API_KEY"] = tier.api_key
        s.parser = MemoryLogParser()
        s.tail = LogTail(s.log_path)
        s.tail.read_new()
        for line in s.tail.lines:
            try:
                s.parser.feed(line)
            except ValueError:
                log.warning("%s: unparsed memory line: %r", s.key, line)
        return s
