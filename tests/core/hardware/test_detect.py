import json

import pynvml
import pytest

from tierdeck.cli import main
from tierdeck.core.hardware import NvidiaReader, detect_devices
from tierdeck.core.hardware.apple import default_working_set

from .fake_nvml import FakeGpu, FakeNvml, GiB, MiB, rtx_3090_ti

RAM = (64 * GiB, 40 * GiB)


def linux(nvml, reserve_mib=1024):
    return detect_devices(reserve_mib, nvml=nvml, platform_name="linux", machine="x86_64", memory=RAM)


def test_rtx_3090_ti_with_display_plans_from_free_not_total():
    gpu = rtx_3090_ti(display_bytes=1 * GiB, procs=[(4242, 900 * MiB)], util=37)
    det = linux(FakeNvml([gpu]), reserve_mib=512)
    nv, cpu = det.devices
    assert (nv.kind, nv.index, nv.name) == ("nvidia", 0, "NVIDIA GeForce RTX 3090 Ti")
    assert nv.total_bytes == 24564 * MiB
    assert nv.free_bytes == 24564 * MiB - 1 * GiB
    assert nv.budget_bytes == nv.free_bytes - 512 * MiB
    assert nv.utilization_pct == 37 and nv.temperature_c == 40 and nv.power_w == 30
    assert [(p.pid, p.used_bytes) for p in nv.processes] == [(4242, 900 * MiB)]
    # 10501 MHz x 2 x 384 bit / 8 = 1008 GB/s, the card's published bandwidth
    assert nv.bandwidth_bytes_per_s == pytest.approx(1008e9, rel=1e-3)
    assert "free" in nv.how["budget_bytes"] and nv.source == "NVML"
    assert cpu.kind == "cpu" and cpu.index == 1 and cpu.total_bytes == 64 * GiB
    assert det.default_device() is nv


def test_two_gpus_each_read_and_default_is_the_roomiest():
    small = FakeGpu("NVIDIA GeForce RTX 3060", total=12 * GiB, used=300 * MiB, uuid="GPU-b")
    det = linux(FakeNvml([rtx_3090_ti(), small]))
    assert [d.kind for d in det.devices] == ["nvidia", "nvidia", "cpu"]
    assert [d.index for d in det.devices] == [0, 1, 2]
    assert det.devices[1].free_bytes == 12 * GiB - 300 * MiB
    assert det.default_device().index == 0
    assert det.by_index(1).name.endswith("3060")
    with pytest.raises(LookupError):
        det.by_index(7)


def test_not_supported_fields_do_not_lose_the_memory_reading():
    gpu = rtx_3090_ti(
        fail={
            "power": pynvml.NVML_ERROR_NOT_SUPPORTED,
            "processes": pynvml.NVML_ERROR_NOT_SUPPORTED,
            "temperature": pynvml.NVML_ERROR_GPU_IS_LOST,
        }
    )
    nv = linux(FakeNvml([gpu])).devices[0]
    assert nv.free_bytes == gpu.total - gpu.used
    assert nv.power_w is None and nv.temperature_c is None and nv.processes == []
    joined = " ".join(nv.notes)
    assert "power" in joined and "NotSupported" in joined and "temperature" in joined


def test_gpu_without_memory_reading_is_skipped_with_a_note():
    broken = rtx_3090_ti(fail={"memory": pynvml.NVML_ERROR_UNKNOWN})
    det = linux(FakeNvml([broken, FakeGpu("NVIDIA A4000", 16 * GiB, 0)]))
    assert [d.name for d in det.devices if d.kind == "nvidia"] == ["NVIDIA A4000"]
    assert any("GPU 0" in n and "memory" in n for n in det.notes)


@pytest.mark.parametrize(
    "code", [pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, pynvml.NVML_ERROR_DRIVER_NOT_LOADED]
)
def test_no_nvml_or_no_driver_falls_back_to_cpu(code):
    det = linux(FakeNvml([], init_error=code))
    assert [d.kind for d in det.devices] == ["cpu"]
    assert det.devices[0].budget_bytes == RAM[1] - 1024 * MiB
    assert any("NVML unavailable" in n for n in det.notes)


def test_unavailable_process_memory_is_unknown_not_huge():
    gpu = rtx_3090_ti(procs=[(10, 2**64 - 1), (11, None)])
    nv = linux(FakeNvml([gpu])).devices[0]
    assert [(p.pid, p.used_bytes) for p in nv.processes] == [(10, None), (11, None)]


def test_reader_keeps_one_nvml_session_for_repeated_reads():
    fake = FakeNvml([rtx_3090_ti()])
    with NvidiaReader(fake) as r:
        for _ in range(5):
            assert r.read()[0].kind == "nvidia"
    assert (fake.inits, fake.shutdowns) == (1, 1)


def sysctl_for(values):
    return lambda name: values.get(name)


def test_m1_max_64gb_uses_the_default_working_set_not_ram():
    values = {"hw.memsize": str(64 * GiB), "machdep.cpu.brand_string": "Apple M1 Max",
              "iogpu.wired_limit_mb": "0"}
    det = detect_devices(1024, sysctl=sysctl_for(values), platform_name="darwin",
                         machine="arm64", memory=(64 * GiB, 52 * GiB))
    [apple] = det.devices
    assert apple.kind == "apple"
    assert apple.total_bytes == 48 * GiB  # 3/4 of 64 GB
    assert apple.free_bytes == 48 * GiB  # RAM available (52) exceeds the working set
    assert apple.budget_bytes == 47 * GiB
    assert apple.bandwidth_bytes_per_s == 400e9
    assert "3/4" in apple.how["working_set_bytes"]


def test_m4_max_128gb_with_raised_wired_limit_reports_exactly_the_limit():
    values = {"hw.memsize": str(128 * GiB), "machdep.cpu.brand_string": "Apple M4 Max",
              "iogpu.wired_limit_mb": str(120 * 1024)}
    det = detect_devices(2048, sysctl=sysctl_for(values), platform_name="darwin",
                         machine="arm64", memory=(128 * GiB, 100 * GiB), gpu_cores=lambda: 40)
    [apple] = det.devices
    assert apple.total_bytes == 120 * GiB
    # Other processes hold 28 GiB: the GPU can only get what RAM has available.
    assert apple.free_bytes == 100 * GiB
    assert apple.budget_bytes == 98 * GiB
    assert apple.bandwidth_bytes_per_s == 546e9
    assert "raised" in apple.how["working_set_bytes"]


@pytest.mark.parametrize(
    ("ram_gb", "expect_gb"), [(16, 16 * 2 / 3), (32, 32 * 2 / 3), (64, 48), (96, 72), (128, 96)]
)
def test_default_working_set_rule(ram_gb, expect_gb):
    assert default_working_set(ram_gb * GiB) == pytest.approx(expect_gb * GiB, abs=1)


def test_unreadable_sysctl_falls_back_to_host_ram():
    det = detect_devices(1024, sysctl=sysctl_for({}), platform_name="darwin", machine="arm64",
                         memory=(16 * GiB, 8 * GiB))
    assert [d.kind for d in det.devices] == ["cpu"]
    assert any("sysctl" in n for n in det.notes)


def test_this_machine_has_at_least_the_cpu_device():
    det = detect_devices()
    cpu = det.devices[-1]
    assert cpu.kind == "cpu" and cpu.total_bytes > 0 and 0 <= cpu.budget_bytes <= cpu.free_bytes


def test_cli_json_on_this_machine(capsys):
    assert main(["detect", "--json", "--reserve-mib", "256"]) == 0
    out = json.loads(capsys.readouterr().out)
    cpu = out["devices"][-1]
    for key in ("index", "kind", "name", "total_bytes", "free_bytes", "budget_bytes", "source"):
        assert key in cpu
    assert cpu["kind"] == "cpu" and cpu["reserve_bytes"] == 256 * MiB


def test_cli_table_under_injected_nvidia(monkeypatch, capsys):
    import tierdeck.cli.detect as cli_detect

    fake = FakeNvml([rtx_3090_ti(fail={"power": pynvml.NVML_ERROR_NOT_SUPPORTED})])
    monkeypatch.setattr(
        cli_detect, "detect_devices",
        lambda reserve: detect_devices(reserve, nvml=fake, platform_name="linux", memory=RAM),
    )
    assert main(["detect"]) == 0
    text = capsys.readouterr().out
    assert "RTX 3090 Ti" in text and "nvidia" in text and "23.0 GiB" in text
    assert "not reported: power" in text
    # Where each number came from, and which rule chose the devices.
    assert "[0] total: nvmlDeviceGetMemoryInfo.total" in text
    assert "[0] device: CUDA default order FASTEST_FIRST" in text
    assert "CUDA0" in text


def test_cli_on_this_machine_names_the_engine_rule(llama_server_bin, capsys):
    """This machine's CPU build (-DGGML_RPC=ON) lists no GPU: the rule says so."""
    assert main(["detect"]) == 0
    text = capsys.readouterr().out
    assert "--list-devices" in text and "no GPU (a CPU-only build)" in text
    assert "[0] free: psutil.virtual_memory().available" in text


def test_a_long_lived_session_reports_each_reads_own_problems():
    from tierdeck.core.hardware import HardwareSession

    gpu = rtx_3090_ti(fail={"memory": pynvml.NVML_ERROR_UNKNOWN})
    fake = FakeNvml([gpu, FakeGpu("NVIDIA A4000", 16 * GiB, 0, fail={"memory": pynvml.NVML_ERROR_UNKNOWN})])
    with HardwareSession(nvml=fake, platform_name="linux", memory=RAM) as s:
        first = s.detect(0)
        assert sum("memory" in n for n in first.notes) == 2  # both GPUs, not only the last
        gpu.fail.clear()
        second = s.detect(0)
    assert [d.name for d in second.devices if d.is_gpu] == ["NVIDIA GeForce RTX 3090 Ti"]
    assert sum("GPU 0" in n for n in second.notes) == 0 and sum("GPU 1" in n for n in second.notes) == 1
    assert (fake.inits, fake.shutdowns) == (1, 1)
