from tierdeck.core.hardware.device import Device
from tierdeck.core.profiles import profile_from_text
from tierdeck.core.servers.tierplan import plan_tier
from tierdeck.core.units import GiB


def tiers(tmp_path, model):
    text = (f"tiers:\n  auto:\n    model: {model}\n    parallel: 2\n"
            f"  fixed:\n    model: {model}\n    ctx_per_slot: 1024\n"
            f"  junk:\n    model: {tmp_path / 'junk.gguf'}\n")
    (tmp_path / "junk.gguf").write_bytes(b"nope")
    return profile_from_text(text, tmp_path / "p.yaml").tiers


def test_auto_context_comes_from_the_planner(tmp_path, tiny_model):
    t = tiers(tmp_path, tiny_model)
    plan = plan_tier(t["auto"])
    assert plan.ctx_per_slot and plan.ctx_per_slot >= 256
    assert plan.planned_bytes and plan.planned_bytes > 0
    assert plan.estimate["parallel"] == 2


def test_explicit_context_is_kept_and_estimated(tmp_path, tiny_model):
    plan = plan_tier(tiers(tmp_path, tiny_model)["fixed"])
    assert plan.ctx_per_slot == 1024 and plan.planned_bytes > 0


def test_unreadable_gguf_is_not_planned_but_not_fatal(tmp_path, tiny_model):
    plan = plan_tier(tiers(tmp_path, tiny_model)["junk"])
    assert plan.ctx_per_slot is None and plan.planned_bytes is None
    assert "cannot read the GGUF" in plan.notes[0]


def test_too_small_device_explains(tmp_path, tiny_model):
    dev = Device(index=0, kind="cpu", name="tiny", total_bytes=GiB, free_bytes=1000,
                 budget_bytes=1000, reserve_bytes=0, source="test", how="test")
    plan = plan_tier(tiers(tmp_path, tiny_model)["auto"], device=dev)
    assert plan.ctx_per_slot is None and plan.notes and "does not fit" in plan.notes[0]


def two_gpus():
    from tierdeck.core.hardware.detect import Detection

    def gpu(i, budget):
        return Device(index=i, kind="nvidia", name=f"gpu{i}", total_bytes=24 * GiB,
                      free_bytes=budget, budget_bytes=budget, reserve_bytes=0, source="test")
    cpu = Device(index=2, kind="cpu", name="ram", total_bytes=64 * GiB, free_bytes=60 * GiB,
                 budget_bytes=60 * GiB, reserve_bytes=0, source="test")
    return Detection([gpu(0, 4 * GiB), gpu(1, 20 * GiB), cpu])


def test_one_device_choice_for_supervisor_and_tierdeck_plan(tmp_path, tiny_model, monkeypatch):
    """With one GPU the supervisor plans on the device `tierdeck plan` picks (tier_device); with
    two, llama.cpp spreads the tier over both, and so does the supervisor's plan."""
    import argparse

    import tierdeck.core.hardware as hw
    from tierdeck.cli.plan import _device
    from tierdeck.core.hardware.detect import Detection
    from tierdeck.core.servers.tierplan import tier_device

    det = two_gpus()
    monkeypatch.setattr(hw, "detect_devices", lambda *a, **k: det)
    assert tier_device(det).name == "gpu1" == det.default_device().name
    args = argparse.Namespace(budget=None, device=None, reserve_mib=0)
    assert _device(args).name == "gpu1"
    plan = plan_tier(tiers(tmp_path, tiny_model)["fixed"])
    assert plan.device == "2 devices" and plan.budget_bytes == 24 * GiB
    assert [d["name"] for d in plan.devices] == ["CUDA0", "CUDA1"]
    assert plan.device_args[plan.device_args.index("--split-mode") + 1] == "layer"
    assert " over 2 devices (CUDA0 " in plan.summary() and " of 4.0 GiB, CUDA1 " in plan.summary()
    one = Detection([det.devices[1], det.devices[2]])
    monkeypatch.setattr(hw, "detect_devices", lambda *a, **k: one)
    plan = plan_tier(tiers(tmp_path, tiny_model)["fixed"])
    assert plan.device == "nvidia:1 gpu1" and plan.budget_bytes == 20 * GiB
    assert plan.summary().startswith("planned ") and "of 20.0 GiB on nvidia:1 gpu1" in plan.summary()
    assert plan.devices == [] and plan.device_args is None


def test_plan_summary_says_what_happened(tmp_path, tiny_model):
    dev = Device(index=0, kind="cpu", name="tiny", total_bytes=GiB, free_bytes=1000,
                 budget_bytes=1000, reserve_bytes=0, source="test")
    t = tiers(tmp_path, tiny_model)
    assert plan_tier(t["auto"], device=dev).summary() == \
        "does not fit on cpu:0 tiny: started with llama-server's --fit"
    assert plan_tier(t["fixed"], device=dev).summary().endswith(": may not fit")
    assert plan_tier(t["junk"]).summary().startswith("not planned: cannot read the GGUF")


def test_detection_function_is_asked_only_when_the_plan_needs_devices(tmp_path, tiny_model):
    asked = []

    def detection():
        asked.append(1)
        return two_gpus()

    t = tiers(tmp_path, tiny_model)
    assert plan_tier(t["junk"], detection=detection).planned_bytes is None and asked == []
    assert plan_tier(t["fixed"], detection=detection).device == "2 devices" and asked == [1]
