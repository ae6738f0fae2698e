"""Device readings for the sampler: static facts read once, RAM each round."""

from __future__ import annotations

from tierdeck.core.metrics import DeviceProbe


def test_apple_unified_memory_device_from_cached_sysctl():
    calls: list[str] = []
    facts = {"hw.memsize": str(64 * 1024**3), "machdep.cpu.brand_string": "Apple M1 Max",
             "iogpu.wired_limit_mb": "0"}

    def sysctl(name: str):
        calls.append(name)
        return facts.get(name)

    probe = DeviceProbe(reserve_bytes=1024**3, platform_name="darwin", sysctl=sysctl, machine="arm64",
                        memory=lambda: (64 * 1024**3, 40 * 1024**3))
    for _ in range(5):
        (dev,) = probe.read()
    assert dev.kind == "apple"
    assert dev.total_bytes == 48 * 1024**3  # Metal's default working set: 3/4 above 32 GB
    assert dev.limit_bytes == 47 * 1024**3
    assert dev.used_bytes == 24 * 1024**3
    assert len(calls) == len(set(calls))  # each sysctl asked once, not once a second
    probe.close()


def test_rss_of_a_gone_process_is_none():
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    probe = DeviceProbe(reserve_bytes=0, platform_name="linux", memory=lambda: (8, 4),
                        nvml=_NoNvml())
    assert probe.rss(p.pid) is None and probe.alive(p.pid) is False
    import os

    assert probe.rss(os.getpid()) > 0 and probe.alive(os.getpid()) is True
    assert probe.alive(None) is None


class _NoNvml:
    """NVML whose library is missing: the probe carries on with host RAM only."""

    def nvmlInit(self):
        raise OSError("libnvidia-ml.so.1: cannot open shared object file")


def test_no_nvml_falls_back_to_host_ram_with_a_note():
    probe = DeviceProbe(reserve_bytes=1, platform_name="linux", memory=lambda: (100, 60),
                        nvml=_NoNvml())
    (cpu,) = probe.read()
    assert (cpu.kind, cpu.total_bytes, cpu.used_bytes, cpu.limit_bytes) == ("cpu", 100, 40, 99)
    assert any("NVML unavailable" in n for n in probe.notes)
