"""Apple Silicon: Metal's working set through llama-server, Rosetta, Intel Macs, chip variants."""

import pytest

from tierdeck.core.hardware import detect_devices
from tierdeck.core.hardware.apple import chip_bandwidth, parse_gpu_cores
from tierdeck.core.hardware.engine_view import EngineView, parse_list_devices
from tierdeck.core.hardware.macmem import available_from_vm_stat
from tierdeck.core.metrics import DeviceProbe

GiB = 1024**3
MiB = 1024**2


def sysctl_for(values):
    return lambda name: values.get(name)


def mac(memsize_gib, brand="Apple M4 Max", **extra):
    return sysctl_for({"hw.memsize": str(memsize_gib * GiB), "machdep.cpu.brand_string": brand,
                       "iogpu.wired_limit_mb": "0", "hw.optional.arm64": "1", **extra})


def listing(text):
    return EngineView("/opt/homebrew/bin/llama-server", *parse_list_devices(text))


def test_macos_26_working_set_128gib_is_what_metal_says_not_the_old_rule():
    """Issue 14: macOS 26 on a 128 GiB machine reports 107.5 GiB (the rule says 96)."""
    view = listing("Available devices:\n  MTL0: Apple M4 Max (110080 MiB, 110079 MiB free)\n")
    det = detect_devices(1024, sysctl=mac(128), platform_name="darwin", machine="arm64",
                         memory=(128 * GiB, 120 * GiB), engine=view, gpu_cores=lambda: 40)
    [apple] = det.devices
    assert apple.total_bytes == int(107.5 * GiB) and apple.engine_id == "MTL0"
    assert apple.free_bytes == int(107.5 * GiB) and apple.budget_bytes == int(106.5 * GiB)
    assert "llama-server --list-devices" in apple.how["working_set_bytes"]
    assert apple.bandwidth_bytes_per_s == 546e9


def test_macos_26_m3_16gb_working_set():
    """Issue 14: an M3 with 16 GB reports 11.84 GB (Metal's MB are 10^6 bytes: 11291 MiB)."""
    view = listing("Available devices:\n  MTL0: Apple M3 (11291 MiB, 11290 MiB free)\n")
    det = detect_devices(0, sysctl=mac(16, "Apple M3"), platform_name="darwin", machine="arm64",
                         memory=(16 * GiB, 14 * GiB), engine=view)
    assert det.devices[0].total_bytes == pytest.approx(11.84e9, abs=MiB)


@pytest.mark.parametrize(("ram", "expect_gib"), [(16, 16 * 2 / 3), (128, 96)])
def test_without_a_listing_the_old_rule_is_a_stated_fallback(ram, expect_gib):
    det = detect_devices(0, sysctl=mac(ram), platform_name="darwin", machine="arm64",
                         memory=(ram * GiB, ram * GiB), engine=None)
    [apple] = det.devices
    assert apple.total_bytes == pytest.approx(expect_gib * GiB, abs=1)
    assert "fallback" in apple.how["working_set_bytes"] and "macOS 26" in apple.how["working_set_bytes"]
    assert det.rules == ["working set: " + apple.how["working_set_bytes"]]


def test_rosetta_python_on_apple_silicon_still_gets_the_gpu():
    """x86_64 Python: platform.machine() says x86_64, hw.optional.arm64 says 1."""
    view = listing("Available devices:\n  MTL0: Apple M2 Max (49152 MiB, 49151 MiB free)\n")
    det = detect_devices(0, sysctl=mac(64, "VirtualApple @ 2.50GHz processor"), platform_name="darwin",
                         machine="x86_64", memory=(64 * GiB, 50 * GiB), engine=view)
    [apple] = det.devices
    assert apple.kind == "apple" and apple.name.startswith("Apple M2 Max")  # Metal's name, not Rosetta's
    assert apple.bandwidth_bytes_per_s == 400e9
    assert any("Rosetta" in n for n in det.notes)


def test_x86_64_build_under_rosetta_sees_no_gpu_llama_cpp_14966():
    det = detect_devices(1024, sysctl=mac(16, "VirtualApple"), platform_name="darwin", machine="x86_64",
                         memory=(16 * GiB, 10 * GiB), engine=listing("Available devices:\n"))
    assert [d.kind for d in det.devices] == ["cpu"]
    assert any("no Metal device" in n and "14966" in n for n in det.notes)


def test_intel_mac_has_no_apple_device():
    intel = sysctl_for({"hw.memsize": str(32 * GiB), "machdep.cpu.brand_string": "Intel(R) Core(TM) i9-9880H"})
    det = detect_devices(1024, sysctl=intel, platform_name="darwin", machine="x86_64",
                         memory=(32 * GiB, 20 * GiB))
    assert [d.kind for d in det.devices] == ["cpu"]
    assert any("Intel Mac" in r for r in det.rules)


def test_intel_mac_with_a_radeon_plans_the_card_llama_server_drives():
    """llama.cpp issue 10003: an Intel Mac Pro's Metal device is an AMD Radeon VII, 16368 MiB."""
    intel = sysctl_for({"hw.memsize": str(64 * GiB), "machdep.cpu.brand_string": "Intel(R) Xeon(R) W-3245"})
    view = listing("Available devices:\n  MTL0: AMD Radeon VII (16368 MiB, 16368 MiB free)\n")
    det = detect_devices(1024, sysctl=intel, platform_name="darwin", machine="x86_64",
                         memory=(64 * GiB, 40 * GiB), engine=view)
    radeon, cpu = det.devices
    assert (radeon.kind, radeon.engine_id, radeon.unified) == ("gpu", "MTL0", False)
    assert radeon.budget_bytes == (16368 - 1024) * MiB and cpu.kind == "cpu" and cpu.index == 1
    assert not any(d.kind == "apple" for d in det.devices)


def test_intel_mac_has_no_apple_device_in_the_metrics_probe_either():
    intel = sysctl_for({"hw.memsize": str(32 * GiB), "machdep.cpu.brand_string": "Intel(R) Core(TM) i9"})
    probe = DeviceProbe(reserve_bytes=0, platform_name="darwin", machine="x86_64", sysctl=intel,
                        memory=lambda: (32 * GiB, 20 * GiB))
    assert [s.kind for s in probe.read()] == ["cpu"]
    probe.close()


@pytest.mark.parametrize(("chip", "cores", "gbps"), [
    ("Apple M3 Max", 30, 300), ("Apple M3 Max", 40, 400), ("Apple M4 Max", 32, 410),
    ("Apple M4 Max", 40, 546), ("Apple M3 Ultra", 80, 819), ("Apple M2 Ultra", 76, 800),
    ("Apple M4 Pro", 20, 273), ("Apple M1", 8, 68.25), ("Apple M5", 10, 153),
])
def test_bandwidth_by_chip_variant(chip, cores, gbps):
    assert chip_bandwidth(chip, cores)[0] == gbps * 1e9


def test_unknown_variant_takes_the_lower_figure_and_says_so():
    bw, how = chip_bandwidth("Apple M4 Max", None)
    assert bw == 410e9 and "lower" in how
    assert chip_bandwidth("Apple M5 Max", 40) is None  # not in the table: no guess


def test_gpu_core_count_from_ioreg():
    text = '+-o AGXAcceleratorG16X  <class AGXAcceleratorG16X>\n    {\n      "gpu-core-count" = 40\n'
    assert parse_gpu_cores(text) == 40 and parse_gpu_cores("") is None


# vm_stat as printed on a 16 KiB-page Apple Silicon Mac (format and figures from a vm_stat
# walkthrough in the code corpus; total RAM set to 32 GiB = 2097152 pages here).
VM_STAT = """\
Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               45231.
Pages active:                            892341.
Pages inactive:                          234521.
Pages speculative:                        12345.
Pages throttled:                              0.
Pages wired down:                        456789.
Pages purgeable:                          23456.
"Translation faults":                1234567890.
File-backed pages:                       345678.
Anonymous pages:                         567890.
Pages stored in compressor:              890123.
Pages occupied by compressor:            123456.
"""


def test_free_memory_counts_purgeable_and_file_backed_pages():
    total = 32 * GiB
    avail = available_from_vm_stat(VM_STAT, total)
    # used = app (anonymous - purgeable) + wired + compressor = 544434 + 456789 + 123456 pages
    assert avail == total - (544434 + 456789 + 123456) * 16384
    assert avail > (45231 + 234521) * 16384  # psutil's free + inactive leaves out the cache
    assert available_from_vm_stat("vm_stat: command not found", total) is None


def test_detect_on_a_mac_uses_vm_stat_for_free_memory():
    det = detect_devices(0, sysctl=mac(32, "Apple M1 Max"), platform_name="darwin", machine="arm64",
                         memory=(32 * GiB, 4 * GiB), vm_stat=lambda: VM_STAT, engine=None)
    [apple] = det.devices
    assert apple.free_bytes == min(apple.total_bytes, available_from_vm_stat(VM_STAT, 32 * GiB))
    assert "vm_stat" in apple.how["free_bytes"]


def test_gpu_core_count_is_read_once_per_session():
    """The window detects every second: ioreg (a subprocess) runs once, like sysctl's reads."""
    from tierdeck.core.hardware import HardwareSession

    calls = []

    def gpu_cores():
        calls.append(1)
        return 40

    with HardwareSession(sysctl=mac(128, "Apple M3 Max"), platform_name="darwin", machine="arm64",
                         memory=(128 * GiB, 100 * GiB), engine=None, gpu_cores=gpu_cores) as s:
        first = s.detect(0).devices[0]
        for _ in range(3):
            assert s.detect(0).devices[0].bandwidth_bytes_per_s == first.bandwidth_bytes_per_s
    assert first.bandwidth_bytes_per_s == 400e9 and calls == [1]  # the 40-core M3 Max
