"""One UI clock drives the periodic refreshes; long operations run on their own pool, so a
start that blocks never delays a status read."""

from __future__ import annotations

import threading
from pathlib import Path

from tierdeck.core.profiles import profile_from_text
from tierdeck.core.servers.supervisor import Supervisor
from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.supervisor_bridge import SupervisorBridge
from tierdeck.gui.bridges.tasks import TaskRunner

PROFILE = """\
name: hang
tiers:
  a: {model: /nowhere/a.gguf}
  b: {model: /nowhere/b.gguf}
  c: {model: /nowhere/c.gguf}
  d: {model: /nowhere/d.gguf}
  e: {model: /nowhere/e.gguf}
  f: {model: /nowhere/f.gguf}
"""


def test_fast_and_slow_ticks(qtbot):
    clock = UiClock(fast_ms=10_000, slow_every=4)
    fast, slow = [], []
    clock.fast.connect(lambda: fast.append(1))
    clock.slow.connect(lambda: slow.append(1))
    for _ in range(8):
        clock.tick()
    assert (len(fast), len(slow)) == (8, 2)


def test_blocked_long_tasks_leave_quick_reads_free(qtbot):
    runner = TaskRunner(max_threads=2, long_threads=2)
    release = threading.Event()
    blocked = [runner.submit(f"start {i}", release.wait, 30, long=True) for i in range(5)]
    try:
        got = []
        runner.submit("status", lambda: "fresh", on_done=got.append)  # connected before it runs
        qtbot.waitUntil(lambda: got == ["fresh"], timeout=5000)
        assert not any(t.is_finished for t in blocked)  # every start is still loading
    finally:
        release.set()
        assert runner.wait(10000)


class HangingSupervisor(Supervisor):
    """A real supervisor whose load never finishes (a server stuck loading: a fault a real
    tiny model cannot produce on demand)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.release = threading.Event()
        self.loading: list[str] = []

    def up(self, profile, tier_names=None, **k):
        self.loading += tier_names or []
        self.release.wait(30)
        return []


def test_a_start_that_blocks_does_not_delay_a_status_read(qtbot):
    sup = HangingSupervisor()
    clock = UiClock(fast_ms=10_000)  # not started: the test ticks it by hand
    runner = TaskRunner()
    bridge = SupervisorBridge(sup, runner, clock)
    profile = profile_from_text(PROFILE, Path("hang.yaml"))
    try:
        qtbot.waitUntil(lambda: not bridge._status_pending, timeout=5000)
        for name in profile.tiers:  # more blocked starts than either pool has threads
            bridge.start(profile, name)
        qtbot.waitUntil(lambda: len(sup.loading) == runner.long_pool.maxThreadCount(), timeout=5000)
        qtbot.waitUntil(lambda: not bridge._status_pending, timeout=5000)
        with qtbot.waitSignal(bridge.statuses_changed, timeout=5000):
            for _ in range(clock.slow_every):  # one slow tick = one status read
                clock.tick()
        assert set(bridge.busy) == set(profile.tiers)  # the starts are still blocked
    finally:
        sup.release.set()
        bridge.close()
        assert runner.wait(10000)
        sup.close()


def test_on_finished_reaches_a_caller_whose_task_ended_before_it_looked(qtbot):
    """A task can finish before submit() has returned to its caller (quitting under load
    hung that way: `finished` was connected after the fact and never came)."""
    runner = TaskRunner()
    calls = []
    task = runner.submit("quick", lambda: None, long=True, on_finished=lambda: calls.append(1))
    assert runner.long_pool.waitForDone(30000)  # it has run and emitted; no Qt events yet
    late = []
    task.finished.connect(lambda: late.append(1))  # the old way: too late to hear it
    qtbot.waitUntil(lambda: calls == [1], timeout=30000)
    assert late == []
    runner.wait(30000)
