"""NVIDIA shapes beyond one discrete card: unified memory, MIG slices, WSL2's fragile NVML."""

import sys

import pynvml

from tierdeck.core.hardware import detect_devices, session
from tierdeck.core.hardware.nvml_probe import is_wsl, probe_in_child

from .fake_nvml import FakeGpu, FakeNvml, GiB, MiB

RAM = (128 * GiB, 100 * GiB)
# DGX Spark: /proc/meminfo of a 128 GB GB10 (gpud PR 1170 reports 128501256192 bytes total).
GB10_MEMINFO = (128501256192, 110 * GiB)


def test_gb10_notsupported_memory_becomes_a_unified_device():
    """Both memory-info calls answer NotSupported on GB10 (leptonai/gpud PR 1170's log)."""
    gb10 = FakeGpu("NVIDIA GB10", 0, 0, uuid="GPU-2dee1e25", cc=(12, 1),
                   fail={"memory": pynvml.NVML_ERROR_NOT_SUPPORTED})
    nv = FakeNvml([gb10])
    from tierdeck.core.hardware.nvidia import NvidiaReader

    with NvidiaReader(nv, meminfo=lambda: GB10_MEMINFO) as r:
        [dev] = r.read(1024 * MiB)
    assert dev.unified and dev.kind == "nvidia" and dev.name == "NVIDIA GB10"
    assert dev.total_bytes == 128501256192 and dev.free_bytes == 110 * GiB
    assert dev.budget_bytes == 110 * GiB - 1024 * MiB
    assert "MemAvailable" in dev.how["free_bytes"]
    assert not any("memory" in n for n in dev.notes)


def test_other_memory_errors_still_drop_the_device():
    broken = FakeGpu("NVIDIA A10", 24 * GiB, 0, fail={"memory": pynvml.NVML_ERROR_GPU_IS_LOST})
    det = detect_devices(0, nvml=FakeNvml([broken]), platform_name="linux", memory=RAM)
    assert [d.kind for d in det.devices] == ["cpu"]
    assert any("GPU 0" in n and "GpuIsLost" in n for n in det.notes)


def a100_with_two_slices() -> FakeNvml:
    slices = [FakeGpu("NVIDIA A100-SXM4-40GB MIG 3g.20gb", 19968 * MiB, 13 * MiB, uuid="MIG-aaaa", gi=1,
                      fail={"utilization": pynvml.NVML_ERROR_NOT_SUPPORTED}),
              FakeGpu("NVIDIA A100-SXM4-40GB MIG 2g.10gb", 9856 * MiB, 11 * MiB, uuid="MIG-bbbb", gi=5)]
    parent = FakeGpu("NVIDIA A100-SXM4-40GB", 40960 * MiB, 0, uuid="GPU-a100", mig=slices, cc=(8, 0),
                     pci_bus_id="00000000:07:00.0")
    return FakeNvml([parent])


def test_mig_slices_are_devices_not_the_whole_card():
    det = detect_devices(0, nvml=a100_with_two_slices(), platform_name="linux", memory=RAM,
                         env={"CUDA_VISIBLE_DEVICES": "MIG-bbbb,MIG-aaaa"}, engine=None)
    gpus = [d for d in det.devices if d.is_gpu]
    assert [(d.name.split()[-1], d.engine_id, d.total_bytes // MiB) for d in gpus] == [
        ("2g.10gb", "CUDA0", 9856), ("3g.20gb", "CUDA1", 19968)]
    assert all(d.mig_parent_uuid == "GPU-a100" and d.pci_bus_id == "00000000:07:00.0" for d in gpus)
    assert gpus[1].notes == []  # a slice reporting no utilisation of its own is not a fault


def test_mig_without_visible_devices_shows_cuda_s_first_slice_only():
    det = detect_devices(0, nvml=a100_with_two_slices(), platform_name="linux", memory=RAM,
                         env={}, engine=None)
    assert [d.name for d in det.devices if d.is_gpu] == ["NVIDIA A100-SXM4-40GB MIG 3g.20gb"]


def test_probe_reports_a_segfault_in_the_child_and_the_parent_lives():
    """A real child that dies of SIGSEGV, as NVML has been reported to on WSL2."""
    crash = [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]
    why = probe_in_child(crash)
    assert why is not None and "SIGSEGV" in why and "crashed" in why


def test_probe_of_a_working_or_missing_nvml():
    assert probe_in_child([sys.executable, "-c", "print(1)"]) is None
    missing = [sys.executable, "-c", "raise SystemExit('NVMLError_LibraryNotFound')"]
    assert "LibraryNotFound" in probe_in_child(missing)


def test_wsl_session_does_not_load_nvml_when_the_probe_crashed(monkeypatch):
    monkeypatch.setattr(session, "_PROBED", {})
    monkeypatch.setattr(session, "probe_in_child", lambda: "NVML crashed a probe process (SIGSEGV)")
    reader = session.acquire(None, wsl=True)
    try:
        assert not reader.available and "SIGSEGV" in reader.error
        assert reader.read() == []
    finally:
        session.release(reader)


def test_wsl_is_read_from_the_kernel_release(tmp_path):
    f = tmp_path / "osrelease"
    f.write_text("5.15.167.4-microsoft-standard-WSL2\n")
    assert is_wsl(f)
    f.write_text("6.8.0-45-generic\n")
    assert not is_wsl(f)


def test_default_probe_child_on_this_machine_reports_the_missing_driver():
    """The real child command: pynvml is installed here, libnvidia-ml is not."""
    why = probe_in_child()
    assert why is not None and "NVML unavailable" in why and "LibraryNotFound" in why


def test_meminfo_parser_reads_memavailable(tmp_path):
    from tierdeck.core.hardware.nvidia import read_meminfo

    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       125493416 kB\nMemFree:         1000000 kB\n"
                 "MemAvailable:   115343360 kB\n")
    assert read_meminfo(str(f)) == (125493416 * 1024, 115343360 * 1024)
