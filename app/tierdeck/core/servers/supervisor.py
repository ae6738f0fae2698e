"""The supervisor: starts, watches, swaps and stops llama-server processes for tiers.

One Supervisor per TierDeck process (GUI or CLI). They share a registry file, so each sees
servers the others started ("adopted"). This module is the public face; the parts are:
hub.py (server table, lock, the one state move, events; the lock order is written there),
launcher.py (plan, registry entry, spawn, stop), monitor.py (logs, health, exits, restarts),
adoption.py (registry sync, marked servers nobody tracks), loads.py (load records), and
lifecycle.py (states, transitions, predicates).

Long calls (up, switch, down) block the calling thread until done; subscribers get
StateChanged / LogLine / Step events from whichever thread made the change.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tierdeck.core.profiles import Profile, ProfileError, check_startable
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.adoption import Adoption
from tierdeck.core.servers.events import LogLine, ServerStatus, StateChanged, Step
from tierdeck.core.servers.hub import Event, Hub, SupervisorError
from tierdeck.core.servers.launcher import Launcher
from tierdeck.core.servers.loads import LOADS_FILE
from tierdeck.core.servers.monitor import Monitor
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.server import free_port
from tierdeck.core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from tierdeck.core.hardware import HardwareSession

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(
        self,
        settings: Settings | None = None,
        binary: Path | str | None = None,
        registry: Registry | None = None,
        poll_interval_s: float = 0.025,
        adopt: bool = True,
        hardware: Callable[[], HardwareSession] | None = None,
    ):
        """hardware: makes the hardware session the plans read devices through (tests inject
        readings); default: this machine's, opened at the first start."""
        self.hub = Hub(settings if settings is not None else _load_settings(),
                       Path(binary) if binary else None, registry or Registry(), poll_interval_s,
                       hardware=hardware)
        self.registry = self.hub.registry
        self._adoption = Adoption(self.hub)
        self._monitor = Monitor(self.hub, self.sync_registry)
        self._launcher = Launcher(self.hub, self._monitor.read_log)
        self._monitor.launcher = self._launcher
        if adopt:
            self._monitor.first = self._stop_orphans
            self.sync_registry()
        self._monitor.ensure_running()

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def poll_interval_s(self) -> float:
        return self.hub.poll_interval_s

    # ---- public API -------------------------------------------------------------------
    def set_settings(self, settings: Settings) -> None:
        """New settings apply to the next start; a changed llama-server path is looked up again."""
        with self.hub.lock:
            if settings.llama_server != self.hub.settings.llama_server:
                self.hub.binary = None
            self.hub.settings = settings

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self.hub.lock:
            self.hub.subs.append(callback)

        def unsubscribe() -> None:
            with self.hub.lock, contextlib.suppress(ValueError):  # already unsubscribed
                self.hub.subs.remove(callback)

        return unsubscribe

    def status(self, tail_lines: int = 30) -> list[ServerStatus]:
        with self.hub.lock:
            return [s.status(tail_lines) for s in self.hub.servers.values()]

    def get(self, tier: str, profile: str | None = None) -> ServerStatus | None:
        with self.hub.lock:
            s = self.hub.find_one(tier, profile, active_only=False)
            return s.status() if s else None

    def running_profiles(self) -> list[str]:
        with self.hub.lock:
            seen: list[str] = []
            for s in self.hub.servers.values():
                if lifecycle.active(s.state) and s.profile not in seen:
                    seen.append(s.profile)
            return seen

    def up(self, profile: Profile, tier_names: list[str] | None = None,
           on_step: Callable[[Step], None] | None = None) -> list[ServerStatus]:
        """Start tiers side by side (default: profile.default_tiers()); wait until each is
        ready or failed. Members of a swap group stop the running partner first."""
        hub = self.hub
        names = list(tier_names) if tier_names else profile.default_tiers()
        tiers = [profile.tier(n) for n in names]
        local = [t for t in tiers if not t.is_remote]
        for t in tiers:
            if t.is_remote:
                hub.step(Step("skip", t.name, profile.name,
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
                self._launcher.stop_if_running(profile.name, partner, on_step)
        started = [self._launcher.start(profile, t, on_step) for t in local]
        self._monitor.ensure_running()
        return [self._launcher.wait_settled(s, profile, on_step) for s in started]

    def switch(self, profile: Profile, tier_name: str,
               on_step: Callable[[Step], None] | None = None) -> ServerStatus:
        """Swap in one action: stop the running member(s) of the tier's swap group, start it."""
        tier = profile.tier(tier_name)
        if tier.is_remote:
            raise SupervisorError(f"{tier_name} is a remote tier: nothing to switch to")
        return self.up(profile, [tier_name], on_step=on_step)[0]

    def down(self, tier_name: str | None = None, profile: str | None = None,
             on_step: Callable[[Step], None] | None = None) -> list[ServerStatus]:
        """Stop one tier's server (or every server when tier_name is None). With None, our
        marked servers that no registry entry lists are found and stopped too."""
        self._adoption.sync(force=True)
        with self.hub.lock:
            if tier_name is None:
                targets = [s for s in self.hub.servers.values()
                           if (lifecycle.active(s.state) or s.restart_at is not None)
                           and (profile is None or s.profile == profile)]
            else:
                s = self.hub.find_one(tier_name, profile, active_only=True)
                if s is None:
                    raise SupervisorError(f"no running server for tier {tier_name!r}"
                                          + (f" of {profile}" if profile else ""))
                targets = [s]
        threads = [threading.Thread(target=self._launcher.stop, args=(s, on_step), daemon=True)
                   for s in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if tier_name is None and profile is None:
            strays = self._adoption.strays()
            self._launcher.stop_strays([(m.key, m.pid, m.create_time) for m in strays], on_step)
        with self.hub.lock:
            return [s.status() for s in targets]

    def close(self) -> None:
        """Stop watching (servers keep running; the next Supervisor adopts them)."""
        hub = self.hub
        hub.closed.set()
        hub.wake.set()
        t = self._monitor.thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        hub.http.close()
        hub.close_hardware()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def forget(self, key: str) -> None:
        """Drop a stopped/crashed/failed server from status()."""
        with self.hub.lock:
            s = self.hub.servers.get(key)
            if s is not None and not lifecycle.active(s.state):
                del self.hub.servers[key]

    def wait(self, tier: str, states: tuple[str, ...], timeout: float,
             profile: str | None = None) -> ServerStatus | None:
        """Block until the tier's server is in one of states (or timeout); for tests and tools."""
        deadline = time.monotonic() + timeout
        with self.hub.cond:
            while True:
                s = self.hub.find_one(tier, profile, active_only=False)
                if s is not None and s.state in states:
                    return s.status()
                left = deadline - time.monotonic()
                if left <= 0:
                    return s.status() if s else None
                self.hub.cond.wait(min(left, 0.1))

    def _stop_orphans(self) -> None:
        """Our marked servers whose entries and owners are gone: nobody else will stop them."""
        strays = self._adoption.strays(orphans_only=True)
        self._launcher.stop_strays([(m.key, m.pid, m.create_time) for m in strays])

    def sync_registry(self) -> None:
        """Adopt live servers other TierDeck processes started; report the dead as crashed."""
        self._monitor.last_sync = time.monotonic()
        self._adoption.sync()
        self._monitor.ensure_running()


def _load_settings() -> Settings:
    """A damaged settings file must not stop the servers: defaults, and it is said (the CLI
    also prints it; the window shows it in a dialog)."""
    try:
        return Settings.load()
    except SettingsError as e:
        log.warning("%s; using default settings", e)
        return Settings()


__all__ = [
    "LOADS_FILE", "LogLine", "ProfileError", "ServerStatus", "StateChanged", "Step",
    "Supervisor", "SupervisorError", "free_port",
]
