"""Per-process GPU memory against the record-size mismatches reported on real drivers.

The fake driver writes records the way the C library does (fake_nvml.FakeDriver); the reader
decodes them through ctypes exactly as on a card.
"""

import struct
from pathlib import Path

import pynvml

from tierdeck.core.hardware import detect_devices
from tierdeck.core.hardware.nvml_procs import (
    ProcessReader,
    decode,
    map_host_pids,
    record_size_for_driver,
)

from .fake_nvml import NOT_AVAILABLE, FakeDriver, FakeGpu, FakeNvml, GiB, MiB, rtx_3090_ti

RAM = (64 * GiB, 40 * GiB)

# nvitop issue 76 (Windows, WDDM: usedGpuMemory not available), pids nvitop printed through
# nvidia-ml-py while the driver wrote 32-byte records and the binding read 24-byte ones:
ISSUE_76_SCRAMBLED = [1184, 0, 4294967295, 4294967295, 16040, 0, 4294967295, 4294967295,
                      19984, 0, 4294967295, 4294967295, 20884, 0, 4294967295, 4294967295,
                      26308, 0, 4294967295, 4294967295, 16336, 0, 4294967295, 4294967295,
                      5368, 0, 4294967295, 4294967295, 19828, 0, 4294967295]
# The real processes behind it: every third 32-byte record starts where a 24-byte read lands.
REAL_PIDS = [1184, 1200, 1300, 16040, 1400, 1500, 19984, 1600, 1700, 20884, 1800, 1900, 26308,
             2000, 2100, 16336, 2200, 2300, 5368, 2400, 2500, 19828, 2600, 2700, 2800, 2900,
             3000, 3100, 3200, 3300, 3400]


def linux(nvml, **kw):
    return detect_devices(0, nvml=nvml, platform_name="linux", memory=RAM, **kw)


def test_fake_driver_reproduces_the_reported_scramble():
    """A fixed 24-byte decode of R535's 32-byte records gives exactly issue 76's pid list."""
    raw = FakeDriver.r535().records([(p, None) for p in REAL_PIDS])
    assert [pid for pid, _u, _g in decode(raw, len(REAL_PIDS), 24)] == ISSUE_76_SCRAMBLED


def test_r535_records_are_read_at_32_bytes():
    gpu = rtx_3090_ti(procs=[(p, None) for p in REAL_PIDS])
    nv = linux(FakeNvml([gpu], driver=FakeDriver.r535())).devices[0]
    assert [p.pid for p in nv.processes] == sorted(REAL_PIDS)
    assert all(p.used_bytes is None for p in nv.processes)  # WDDM: unknown, not 2**64-1
    assert "32-byte" in nv.how["processes"]


def test_which_record_size_each_driver_writes():
    assert record_size_for_driver(FakeNvml([], driver=FakeDriver.r470())) == ("_v2", 24)
    assert record_size_for_driver(FakeNvml([], driver=FakeDriver.r525())) == ("_v3", 24)
    assert record_size_for_driver(FakeNvml([], driver=FakeDriver.r535())) == ("_v3", 32)
    assert record_size_for_driver(FakeNvml([], driver=FakeDriver.r550())) == ("_v3", 24)


def test_swapped_pid_and_memory_pynvml_issue_50():
    """24-byte records read as 32 (nvidia-ml-py 12.535.77 on R530/R550) swap pid and bytes."""
    procs = [(4242, 900 * MiB), (5151, 2 * GiB), (6262, 300 * MiB)]
    raw = FakeDriver.r525().records(procs)
    wrong = decode(raw, 2, 32)
    # The second record's memory is read as its pid, its MIG ids as "memory not available",
    # and the next process's pid as a MIG instance: "shuffled" fields, as issue 50 reports.
    assert wrong[1] == (2 * GiB, None, 6262)
    # Our reader asks the driver's symbols, so it decodes at 24 bytes.
    nv = linux(FakeNvml([rtx_3090_ti(procs=procs)], driver=FakeDriver.r525())).devices[0]
    assert [(p.pid, p.used_bytes) for p in nv.processes] == procs


def test_wrong_guess_is_corrected_by_the_sanity_check():
    """A driver that claims R535 symbols but writes 24-byte records: the other size is tried."""
    liar = FakeDriver(24, FakeDriver.r535().symbols)
    procs = [(4242, 900 * MiB), (5151, 2 * GiB)]
    nv = linux(FakeNvml([rtx_3090_ti(procs=procs)], driver=liar)).devices[0]
    assert [(p.pid, p.used_bytes) for p in nv.processes] == procs


def test_garbage_in_every_layout_is_unknown_not_attributed():
    class Garbage(FakeDriver):
        def records(self, procs):
            return b"\xff" * 32 * len(procs)

    nv = linux(FakeNvml([rtx_3090_ti(procs=[(1, 1), (2, 2)])], driver=Garbage(24, FakeDriver.r525().symbols))).devices[0]
    assert nv.processes == []
    assert any("sanity check" in n and "unknown" in n for n in nv.notes)


def test_bytes_above_the_card_are_rejected():
    nv = linux(FakeNvml([rtx_3090_ti(procs=[(4242, 80 * GiB)])])).devices[0]
    assert nv.processes == [] and any("sanity" in n for n in nv.notes)


def test_detail_list_api_is_preferred_on_r550():
    procs = [(4242, 900 * MiB), (5151, None)]
    nv = linux(FakeNvml([rtx_3090_ti(procs=procs)], driver=FakeDriver.r550())).devices[0]
    assert nv.how["processes"] == "nvmlDeviceGetRunningProcessDetailList"
    assert [(p.pid, p.used_bytes) for p in nv.processes] == procs


def test_not_supported_process_calls_keep_the_device():
    """WSL2 and vGPU answer NotSupported for process lists: noted, memory still read."""
    gpu = rtx_3090_ti(fail={"processes": pynvml.NVML_ERROR_NOT_SUPPORTED})
    nv = linux(FakeNvml([gpu], driver=FakeDriver.r535())).devices[0]
    assert nv.processes == [] and nv.free_bytes > 0
    assert any("compute processes" in n and "NotSupported" in n for n in nv.notes)


def _proc_tree(root: Path, procs: dict[str, list[int]], kthreadd: bool) -> Path:
    for name, nspids in procs.items():
        (root / name).mkdir(parents=True)
        (root / name / "status").write_text("Name:\tx\nNSpid:\t" + "\t".join(map(str, nspids)) + "\n")
    if kthreadd:
        (root / "2").mkdir()
        (root / "2" / "status").write_text("Name:\tkthreadd\n")
    return root


def test_host_pids_map_into_our_namespace_through_nspid(tmp_path):
    # We run in a nested pid namespace whose /proc shows the host's pids first.
    proc = _proc_tree(tmp_path, {"self": [9000, 7], "9000": [9000, 7], "9100": [9100, 42],
                                 "500": [500]}, kthreadd=True)
    assert map_host_pids([9100, 500, 777], proc) == {9100: 42, 500: None, 777: None}


def test_container_without_host_proc_attributes_nothing(tmp_path):
    proc = _proc_tree(tmp_path, {"self": [7], "7": [7], "42": [42]}, kthreadd=False)
    assert map_host_pids([42, 9100], proc) == {42: None, 9100: None}


def test_on_the_host_pids_are_their_own(tmp_path):
    proc = _proc_tree(tmp_path, {"self": [300]}, kthreadd=True)
    assert map_host_pids([4242], proc) == {4242: 4242}


def test_unmapped_processes_never_reach_the_sampler():
    from tierdeck.core.metrics.devices import _sample

    gpu = FakeGpu("NVIDIA L4", 24 * GiB, 0, procs=[(4242, 1 * GiB), (5151, 2 * GiB)])
    nv = FakeNvml([gpu], driver=FakeDriver.r525())
    reader = ProcessReader(nv, pid_map=lambda pids: {4242: 17, 5151: None})
    notes: list[str] = []
    procs = reader.read(gpu, gpu.total, notes)
    assert [(p.pid, p.local_pid) for p in procs] == [(4242, 17), (5151, None)]
    dev = linux(FakeNvml([gpu])).devices[0]
    dev.processes = procs
    assert _sample(dev).processes == {17: 1 * GiB}


def test_record_layouts_match_the_c_structs():
    """Our decode formats against nvidia-ml-py's own ctypes structs (the C layouts)."""
    import ctypes

    assert struct.calcsize("@IQII") == ctypes.sizeof(pynvml.c_nvmlProcessInfo_v2_t) == 24
    assert struct.calcsize("@IQIIQ") == ctypes.sizeof(pynvml.c_nvmlProcessDetail_v1_t) == 32
    assert NOT_AVAILABLE == 2**64 - 1
    # What the reader uses from the real module is there.
    for name in ("_nvmlGetFunctionPointer", "NVMLError", "nvmlProcessDetailList_v1",
                 "nvmlDeviceGetRunningProcessDetailList", "nvmlDeviceGetMigMode",
                 "nvmlDeviceGetMigDeviceHandleByIndex", "nvmlDeviceGetPciInfo",
                 "nvmlDeviceGetCudaComputeCapability", "nvmlDeviceGetGpuInstanceId"):
        assert hasattr(pynvml, name), name


def test_the_fake_only_offers_functions_the_real_binding_has():
    fake = FakeNvml([], driver=FakeDriver.r550())
    names = [n for n in dir(fake) if n.startswith("nvml")]
    assert len(names) > 15
    assert [n for n in names if not hasattr(pynvml, n)] == []
