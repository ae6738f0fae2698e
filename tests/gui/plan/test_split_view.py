"""A tier spread over several devices: one plan bar per device; RPC hosts in the Machine box."""

from __future__ import annotations

from tierdeck.core.hardware import Detection, Device
from tierdeck.core.profiles import load_profile_file
from tierdeck.core.units import GiB, MiB
from tierdeck.gui.plan.split_model import rpc_rows


def two_gpus() -> Detection:
    def gpu(i: int, gib: int) -> Device:
        return Device(i, "nvidia", f"NVIDIA GeForce RTX {'3090 Ti' if i == 0 else '3060'}", gib * GiB,
                      gib * GiB - 300 * MiB, gib * GiB - 1324 * MiB, GiB, "test")
    return Detection([gpu(0, 24), gpu(1, 12), Device(2, "cpu", "RAM", 64 * GiB, 40 * GiB, 39 * GiB, GiB, "test")])


def split_planned(window, qtbot, ctx: int):
    """Select sonnet, give the plan view two GPUs and a context, wait for the split bars."""
    window.monitor.stop()
    plan = window.plan
    window.tiers.select("sonnet")
    qtbot.waitUntil(lambda: plan.current_facts() is not None, timeout=30000)
    plan.set_detection(two_gpus())
    plan.set_ctx_per_slot(ctx)
    qtbot.waitUntil(lambda: plan.split_bars.isVisibleTo(plan) and bool(plan.split_text.text()), timeout=30000)
    return plan


def test_two_gpus_draw_one_bar_each(window, qtbot):
    plan = split_planned(window, qtbot, 2048)
    bars = [b for b in plan.split_bars.bars if b.isVisibleTo(plan)]
    assert len(bars) == 2
    assert bars[0].model.title.startswith("CUDA0 (NVIDIA GeForce RTX 3090 Ti)")
    # a tiny model fits on the first card: the planner leaves the second without layers rather than
    # pay a second compute buffer (-ts 3,0); it still pays its CUDA context
    assert bars[1].model.title.startswith("CUDA1")
    assert plan.split_text.text().startswith("2 devices, -sm layer -ts 3,0")
    assert all(b.model.fits for b in bars)
    assert [s.label for s in bars[0].model.segments][:2] == ["weights", "KV cache"]
    assert "every device fits" in plan.split_text.text() and "-ts" in plan.split_text.text()


def test_slider_moves_queue_one_split_plan_and_read_the_calibration_once(window, qtbot, monkeypatch):
    from tierdeck.core.planner import calibrate

    reads = []
    real = calibrate.load_calibration
    monkeypatch.setattr(calibrate, "load_calibration", lambda *a, **k: reads.append(1) or real(*a, **k))
    plan = split_planned(window, qtbot, 2048)
    submitted = []
    submit = window.runner.submit
    monkeypatch.setattr(window.runner, "submit",
                        lambda name, *a, **k: submitted.append(name) or submit(name, *a, **k))
    for ctx in (1024, 1536, 3072, 4096):  # a slider drag: faster than the planner
        plan.set_ctx_per_slot(ctx)
    assert submitted.count("split plan") <= 1  # the others wait as one latest request
    qtbot.waitUntil(lambda: plan.split_text.text().endswith("· 4096 tokens per slot"), timeout=30000)
    assert submitted.count("split plan") <= 2
    assert len(reads) == 1  # once for the profile, not per plan


def test_one_device_hides_the_split_bars(window, qtbot):
    window.monitor.stop()
    plan = window.plan
    window.tiers.select("sonnet")
    qtbot.waitUntil(lambda: plan.current_facts() is not None and plan.estimate is not None, timeout=30000)
    assert not plan.split_bars.isVisibleTo(plan)


def test_machine_box_lists_rpc_hosts_with_the_warning(window, qtbot, tmp_path):
    model = window.profile.tiers["sonnet"].model_path
    path = tmp_path / "rpc.yaml"
    path.write_text("name: rpc\nrpc:\n  - {host: 127.0.0.1:50052, memory: 2GiB}\n"
                    "  - {host: 192.168.1.20:50052, memory: 8GiB}\n"
                    f"tiers:\n  sonnet: {{model: {model}, ctx_per_slot: 1024}}\n")
    prof = load_profile_file(path)
    assert any("not loopback" in w for w in prof.warnings)
    window.monitor.stop()
    window.set_profile(prof)
    text = window.devices._rpc.text()
    assert "127.0.0.1:50052" in text and "192.168.1.20:50052" in text
    assert "unauthenticated" in text and "NETWORK" in text
    # the tier spans both RPC hosts and the detected GPUs
    plan = window.plan
    window.tiers.select("sonnet")
    qtbot.waitUntil(lambda: plan.current_facts() is not None, timeout=30000)
    plan.set_detection(two_gpus())
    qtbot.waitUntil(lambda: plan.split_text.text() != "", timeout=30000)
    names = [b.model.title.split(" ")[0] for b in plan.split_bars.bars if b.isVisibleTo(plan)]
    assert names[:2] == ["RPC0[127.0.0.1:50052]", "RPC1[192.168.1.20:50052]"] and names[2:] == ["CUDA0", "CUDA1"]


def test_rpc_rows_say_where_and_how_much():
    class H:
        def __init__(self, host, mem):
            self.host, self.port, self.memory_bytes = host, 50052, mem
            self.endpoint = f"{host}:50052"
    rows = rpc_rows([H("127.0.0.1", 8 * GiB), H("10.0.0.5", None)])
    assert rows[0][1].startswith("offers 8.0 GiB · loopback")
    assert "memory not given" in rows[1][1] and "NETWORK" in rows[1][1]


def test_bars_say_when_real_loads_calibrated_them(window, qtbot, tierdeck_home):
    import json  # noqa: PLC0415

    from tierdeck.core.paths import app_dirs  # noqa: PLC0415

    rec = {"time": 1, "profile": "demo", "tier": "sonnet", "model": "m", "command": [], "planned_bytes": 1,
           "plan": {"estimate": {"compute_bytes": 100, "device_kind": "nvidia"}},
           "loaded": {"compute_bytes": {"CUDA0": 120}}}
    app_dirs().data.mkdir(parents=True, exist_ok=True)
    (app_dirs().data / "loads.jsonl").write_text("\n".join(json.dumps(rec) for _ in range(7)) + "\n")
    plan = split_planned(window, qtbot, 1024)
    assert "compute x1.20, calibrated on 7 loads here" in plan.split_bars.bars[0].model.title
