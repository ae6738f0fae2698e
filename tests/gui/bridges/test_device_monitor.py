"""The window's device monitor keeps one NVML session, shared with the metrics sampler."""

from __future__ import annotations

from tests.core.hardware.fake_nvml import FakeDriver, FakeNvml, GiB, rtx_3090_ti
from tierdeck.core.hardware import HardwareSession
from tierdeck.core.metrics import DeviceProbe
from tierdeck.gui.bridges.device_monitor import DeviceMonitor
from tierdeck.gui.bridges.tasks import TaskRunner


def test_one_nvml_session_across_100_refreshes_and_the_sampler(qtbot):
    fake = FakeNvml([rtx_3090_ti(procs=[(4242, 1 * GiB)])], driver=FakeDriver.r535())
    runner = TaskRunner()
    session = HardwareSession(nvml=fake, platform_name="linux", memory=(64 * GiB, 40 * GiB))
    monitor = DeviceMonitor(runner, 1024, session=session)
    probe = DeviceProbe(fake, reserve_bytes=0)  # the sampler's reader, alive at the same time
    seen = []
    monitor.updated.connect(seen.append)
    for i in range(100):
        with qtbot.waitSignal(monitor.updated, timeout=10_000):
            monitor.refresh()
        assert len(seen) == i + 1
        probe.read()
    assert seen[-1].devices[0].name == "NVIDIA GeForce RTX 3090 Ti"
    assert [p.pid for p in seen[-1].devices[0].processes] == [4242]
    assert (fake.inits, fake.shutdowns) == (1, 0)
    monitor.stop()
    assert fake.shutdowns == 0  # the sampler still uses it
    probe.close()
    assert (fake.inits, fake.shutdowns) == (1, 1)
    runner.wait()


def test_a_refresh_after_stop_does_not_reopen_nvml(qtbot):
    fake = FakeNvml([rtx_3090_ti()])
    runner = TaskRunner()
    monitor = DeviceMonitor(runner, 0, session=HardwareSession(nvml=fake, platform_name="linux",
                                                                memory=(8 * GiB, 4 * GiB)))
    with qtbot.waitSignal(monitor.updated, timeout=10_000):
        monitor.refresh()
    monitor.stop()
    with qtbot.waitSignal(monitor.updated, timeout=10_000) as sig:
        monitor.refresh()  # e.g. a task queued just before the window closed
    assert [d.kind for d in sig.args[0].devices] == ["cpu"]
    assert (fake.inits, fake.shutdowns) == (1, 1)
    runner.wait()
