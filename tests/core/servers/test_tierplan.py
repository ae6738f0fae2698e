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
