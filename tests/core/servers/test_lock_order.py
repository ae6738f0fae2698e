"""The supervisor lock and the registry file lock are never held together (hub.py's lock order).

The interleaving from issue 10, driven step by step: a registry sync holds the file lock
(with an entry in the registry, as when a co-resident tier runs) while a switch on another
thread reaches its own registry write. With the old order (sync: file -> supervisor; spawn:
supervisor -> file) the two threads waited on each other forever.
"""

import contextlib
import os
import threading

from tests.core.servers.conftest import make_profile, tiny_tier
from tierdeck.core.servers.registry import Registry


class GatedRegistry(Registry):
    """A registry that checks the lock order on every use and can pause one thread inside."""

    def __init__(self):
        super().__init__()
        self.supervisor = None
        self.violations: list[str] = []
        self.gate_thread: threading.Thread | None = None
        self.gate_inside = threading.Event()
        self.other_wants_lock = threading.Event()

    @contextlib.contextmanager
    def locked(self):
        me = threading.current_thread()
        sup = self.supervisor
        if sup is not None and sup.hub.lock._is_owned():
            self.violations.append(f"{me.name} waits for the registry lock holding the supervisor's")
        if me.name == "switcher":
            self.other_wants_lock.set()
        with super().locked() as entries:
            if me is self.gate_thread and not self.gate_inside.is_set():
                self.gate_inside.set()
                # Hold the file lock until the switch thread asks for it.
                assert self.other_wants_lock.wait(30), "the switch never reached the registry"
            yield entries


def fake_profile(tmp_path, **kw):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")  # never read by the fake
    t = dict(env={"FAKE_MODE": "ok"}, stop_timeout_s=5, **kw)
    return make_profile(tmp_path, {"a": tiny_tier(model, **t), "b": tiny_tier(model, **t),
                                   "scratch": tiny_tier(model, **t)},
                        groups=[{"mode": "swap", "tiers": ["a", "b"]}])


def test_sync_holding_the_file_lock_meets_a_switch(tmp_path, fake_bin, supervisors):
    reg = GatedRegistry()
    sup = supervisors(binary=fake_bin, registry=reg)
    reg.supervisor = sup
    prof = fake_profile(tmp_path)
    [scratch] = sup.up(prof, ["scratch"])  # the co-resident tier: an entry to sync over
    assert scratch.state == "ready", scratch.reason

    def sync() -> None:
        st = reg.path.stat()
        os.utime(reg.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # not "unchanged"
        sup.sync_registry()

    syncer = threading.Thread(target=sync, name="syncer", daemon=True)
    reg.gate_thread = syncer
    syncer.start()
    assert reg.gate_inside.wait(10)  # the sync holds the file lock now
    result: dict = {}
    switcher = threading.Thread(target=lambda: result.setdefault("st", sup.switch(prof, "a")),
                                name="switcher", daemon=True)
    switcher.start()
    syncer.join(30)
    switcher.join(30)
    assert not syncer.is_alive() and not switcher.is_alive(), "deadlock: sync vs switch"
    assert result["st"].state == "ready", result["st"].reason
    assert reg.violations == []
    assert set(Registry().read()) == {"t/scratch", "t/a"}


def test_lock_order_holds_under_switching_and_syncing(tmp_path, fake_bin, supervisors):
    """Every registry use, on every thread (monitor, stop threads, callers), is checked."""
    reg = GatedRegistry()
    sup = supervisors(binary=fake_bin, registry=reg)
    reg.supervisor = sup
    prof = fake_profile(tmp_path)
    assert sup.up(prof, ["scratch"])[0].state == "ready"
    stop = threading.Event()

    def keep_syncing() -> None:
        while not stop.is_set():
            sup.sync_registry()

    syncer = threading.Thread(target=keep_syncing, daemon=True)
    syncer.start()
    try:
        for i in range(10):
            st = sup.switch(prof, "ab"[i % 2])
            assert st.state == "ready", st.reason
    finally:
        stop.set()
        syncer.join(10)
    assert not syncer.is_alive()
    assert reg.violations == []
    assert {s.tier: s.state for s in sup.status()} == {"scratch": "ready", "a": "stopped",
                                                       "b": "ready"}
