"""Plans that learn from real loads: loads.jsonl (written by the supervisor) -> corrections."""

from __future__ import annotations

import json

import pytest

from tests.core.servers.conftest import make_profile, supervisors, tiny_tier  # noqa: F401 - fixture
from tierdeck.core.gguf import read_facts
from tierdeck.core.hardware.device import Device
from tierdeck.core.paths import app_dirs
from tierdeck.core.planner import PlanRequest, estimate, fit_context
from tierdeck.core.planner.calibrate import OOM_STEP, backend_of, calibrate, load_calibration
from tierdeck.core.planner.multi import estimate_split
from tierdeck.core.units import GiB, MiB

CUDA = [Device(0, "nvidia", "NVIDIA GeForce RTX 3090 Ti", 24 * GiB, 23 * GiB, 22 * GiB, GiB, "NVML"),
        Device(1, "nvidia", "NVIDIA GeForce RTX 3060", 12 * GiB, 11 * GiB, 10 * GiB, GiB, "NVML")]


def _record(kind: str, planned_compute: int, reported: dict[str, int], **extra) -> dict:
    """A loads.jsonl line as core/servers/supervisor.py _record_load writes it."""
    return {"time": 1.0, "profile": "p", "tier": "t", "model": "/m.gguf", "command": ["llama-server"],
            "planned_bytes": 10 * GiB,
            "plan": {"ctx_per_slot": 4096, "planned_bytes": 10 * GiB, "device": f"{kind}:0 x", "notes": [],
                     "estimate": {"compute_bytes": planned_compute, "device_kind": kind, "total_bytes": 10 * GiB}},
            "loaded": {"compute_bytes": reported, "model_bytes": {}, "total": 1}, **extra}


def test_nothing_learned_on_a_fresh_machine(tiny_model):
    cal = load_calibration()
    assert cal.empty and cal.loads == 0
    f = read_facts(tiny_model)
    plain = estimate(f, PlanRequest(ctx_per_slot=1024), CUDA[0])
    assert estimate(f, PlanRequest(ctx_per_slot=1024), CUDA[0], cal).compute_bytes == plain.compute_bytes
    assert not any("loads here" in n for n in plain.notes)


def test_real_loads_here_calibrate_the_cpu_backend(tmp_path, tiny_model, llama_server_bin, supervisors):  # noqa: F811
    """Two real loads through the supervisor write loads.jsonl; the calibration reads them back."""
    prof = make_profile(tmp_path, {"a": tiny_tier(tiny_model, alias="tiny-a")})
    sup = supervisors(binary=llama_server_bin)
    for _ in range(2):
        [a] = sup.up(prof, ["a"])
        assert a.state == "ready", a.reason
        sup.down("a")
    lines = (app_dirs().data / "loads.jsonl").read_text().splitlines()
    assert len(lines) == 2
    cal = load_calibration()
    cpu = cal.backends["CPU"]
    assert cpu.loads == 2 and cal.loads == 2
    rec = json.loads(lines[0])
    ratio = sum(rec["loaded"]["compute_bytes"].values()) / rec["plan"]["estimate"]["compute_bytes"]
    assert cpu.compute_scale == pytest.approx(ratio, rel=1e-3)
    assert cpu.label == "calibrated on 2 loads here"
    # used by the planner, and said so
    f = read_facts(tiny_model)
    cpu_dev = Device(0, "cpu", "RAM", 64 * GiB, 32 * GiB, 31 * GiB, GiB, "psutil")
    e = estimate(f, PlanRequest(ctx_per_slot=1024), cpu_dev, cal)
    assert any("calibrated on 2 loads here" in n for n in e.notes)


def test_median_scale_per_backend_and_bad_records_skipped():
    recs = [_record("nvidia", 100 * MiB, {"CUDA0": 130 * MiB, "CUDA_Host": 20 * MiB}),
            _record("nvidia", 100 * MiB, {"CUDA0": 120 * MiB}),
            _record("nvidia", 100 * MiB, {"CUDA0": 125 * MiB}),
            _record("nvidia", 100 * MiB, {"CUDA0": 900 * MiB}),  # another model's log: out of range
            _record("apple", 50 * MiB, {"Metal": 55 * MiB}),
            {"time": 2.0, "plan": None, "loaded": None}]
    cal = calibrate(recs)
    assert cal.backends["CUDA"].loads == 3 and cal.backends["CUDA"].compute_scale == 1.25
    assert cal.backends["Metal"].compute_scale == 1.1
    assert cal.loads == 4 and cal.skipped == 2
    # the split planner scales each CUDA device's compute and says where it came from
    f_dev = estimate_split(_facts_small(), PlanRequest(ctx_per_slot=1024), CUDA)
    c_dev = estimate_split(_facts_small(), PlanRequest(ctx_per_slot=1024), CUDA, calib=cal)
    for a, b in zip(f_dev.devices, c_dev.devices, strict=True):
        assert b.compute_bytes == int(a.compute_bytes * 1.25)
        assert b.calibration == "compute x1.25, calibrated on 3 loads here"


def test_rotated_load_records_count(tmp_path):
    """loads.jsonl rotates (core/servers/loads.py): records in loads.jsonl.1 and .2 still teach."""
    from tierdeck.core.servers.loads import append_load  # noqa: PLC0415

    path = tmp_path / "data" / "loads.jsonl"
    ratios = [1.2, 1.3, 1.25, 1.1, 1.4]
    for r in ratios:  # each record is ~360 bytes: two per 800-byte file, three files
        append_load(_record("nvidia", 100 * MiB, {"CUDA0": int(r * 100 * MiB)}), path, max_bytes=800)
    assert path.with_name("loads.jsonl.2").exists()
    with open(path.with_name("loads.jsonl.1"), "ab") as f:
        f.write(b'{"cut by a cr\xff')  # a crash mid-line, a bad byte: that line only is lost
    cal = load_calibration(tmp_path / "data", tmp_path / "logs")
    assert cal.loads == len(ratios) and cal.backends["CUDA"].compute_scale == 1.25


# a real out-of-memory pair of lines, as posted in llama.cpp PR #26297 (MiniMax M3, 3 GPUs)
OOM_LOG = [
    "1.06.520.077 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 51748.72 MiB on device 1: "
    "cudaMalloc failed: out of memory",
    "1.06.520.084 E ggml_gallocr_reserve_n_impl: failed to allocate CUDA1 buffer of size 54262464512",
    "1.06.520.086 E graph_reserve: failed to allocate compute buffers",
    "llama_init_from_model: failed to initialize the context",
]


def test_an_oom_load_raises_that_devices_reserve(tmp_path, tiny_model):
    logs = tmp_path / "logs" / "servers"
    logs.mkdir(parents=True)
    (logs / "p--big.log").write_text("\n".join(OOM_LOG) + "\n")
    # the same lines, then llama.cpp retried without pipeline parallelism and loaded: not an OOM load
    (logs / "p--ok.log.1").write_text("\n".join(OOM_LOG[:2]) + "\nsrv  llama_server: listening on http://127.0.0.1:1\n")
    cal = load_calibration(tmp_path / "data", tmp_path / "logs")
    assert cal.ooms == {"CUDA1": 1}
    assert cal.reserve_bytes == {"CUDA1": 54262464512}
    e = estimate_split(_facts_small(), PlanRequest(ctx_per_slot=1024), CUDA, calib=cal)
    assert e.devices[0].budget_bytes == CUDA[0].budget_bytes  # CUDA0 untouched
    assert e.devices[1].budget_bytes == 0 and not e.devices[1].fits
    assert "after 1 out-of-memory load here" in e.devices[1].calibration
    # a record that says oom (no size): one step
    cal2 = calibrate([{"failure": {"kind": "oom", "device": "CUDA0"}}])
    assert cal2.reserve_bytes == {"CUDA0": OOM_STEP}


def test_single_device_fit_uses_the_raised_reserve(tiny_model):
    cal = calibrate([{"failure": {"kind": "oom", "lines": ["failed to allocate CUDA0 buffer of size 1073741824"]}}])
    f = read_facts(tiny_model)
    plain = fit_context(f, PlanRequest(), CUDA[0]).best
    learned = fit_context(f, PlanRequest(), CUDA[0], calib=cal).best
    assert learned.budget_bytes == plain.budget_bytes - GiB


def test_backend_names():
    assert [backend_of(x) for x in ("CUDA0", "CUDA_Host", "RPC0[127.0.0.1:50052]", "Metal", "MTL0",
                                    "CPU_Mapped", "nvidia", "rpc", "ROCm1")] == \
        ["CUDA", "CPU", "RPC", "Metal", "Metal", "CPU", "CUDA", "RPC", "ROCm"]


_SMALL = {}


def _facts_small():
    if "f" not in _SMALL:
        import tempfile  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        from tierdeck.core.gguf.synth import qwen3_14b, write_model  # noqa: PLC0415

        p = write_model(Path(tempfile.mkdtemp()) / "q14.gguf", qwen3_14b(write_vocab=False))
        _SMALL["f"] = read_facts(p)
    return _SMALL["f"]


def test_oom_lines_are_the_supervisors_own(tmp_path):
    """The lines classify.py calls out of memory raise the reserve too (std::bad_alloc was missed)."""
    from tierdeck.core.servers.classify import classify_failure  # noqa: PLC0415

    lines = ["llama_model_load: loading model tensors",
             "terminate called after throwing an instance of 'std::bad_alloc'"]
    assert classify_failure(lines).kind == "oom"
    assert calibrate([], [lines]).reserve_bytes == {"*": OOM_STEP}
    assert calibrate([], [[*lines, "main: model loaded"]]).reserve_bytes == {}
