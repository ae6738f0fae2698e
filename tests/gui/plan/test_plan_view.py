from __future__ import annotations

from tierdeck.core.hardware import Detection, Device
from tierdeck.core.profiles import load_profile
from tierdeck.core.units import MiB


def small_device(budget_mib: float) -> Detection:
    budget = int(budget_mib * MiB)
    return Detection([Device(index=0, kind="cpu", name="Small test device", total_bytes=budget + 64 * MiB,
                             free_bytes=budget + 8 * MiB, budget_bytes=budget, reserve_bytes=8 * MiB,
                             source="test")])


def test_slider_changes_the_verdict_and_offers_configs_that_fit(window, qtbot):
    window.monitor.stop()  # the test decides what the machine looks like
    plan = window.plan
    window.tiers.select("scratch")  # a tier with a llama-server of its own
    qtbot.waitUntil(lambda: plan.current_facts() is not None, timeout=10000)
    plan.set_detection(small_device(21))
    plan.set_ctx_per_slot(1024)
    qtbot.waitUntil(lambda: plan.estimate is not None and plan.estimate.ctx_per_slot == 1024)
    assert plan.estimate.fits
    assert plan.verdict.text().startswith("fits")
    assert not plan.engine_note.isVisibleTo(plan)
    # scratch runs side by side with haiku, whose engine (shared with sonnet) counts once
    assert plan.group_plan is not None and plan.group_bar.isVisibleTo(plan)
    assert [s.label for s in plan.group_bar.model.segments][:2] == ["haiku+sonnet", "scratch"]
    assert len(plan.group_plan.estimates) == 2

    with qtbot.waitSignal(plan.alternatives_ready, timeout=10000) as sig:
        plan.ctx_slider.setValue(plan.ctx_slider.maximum())  # the user drags to the end
    assert plan.ctx.value() == 8192
    assert not plan.estimate.fits
    assert plan.verdict.text().startswith("does not fit")
    assert "short by" in plan.verdict.text()
    assert sig.args[0], "the nearest configurations that fit are listed"
    assert plan.alternatives.isVisibleTo(plan)

    plan.use_alternative(0)
    assert plan.estimate.fits
    assert plan.verdict.text().startswith("fits")


def test_apply_saves_the_tier_and_keeps_comments(window, qtbot, tierdeck_home):
    plan = window.plan
    window.tiers.select("sonnet")
    qtbot.waitUntil(lambda: plan.current_facts() is not None and plan.estimate is not None,
                    timeout=10000)
    plan.set_ctx_per_slot(2048)
    plan.slots.setValue(2)
    plan.cache_k.setCurrentText("q8_0")
    plan.cache_v.setCurrentText("q8_0")
    with (qtbot.waitSignal(window.profile_loaded, timeout=10000),
          qtbot.waitSignal(plan.applied, timeout=10000)):
        plan.apply_button.click()
    saved = tierdeck_home / "config" / "profiles" / "demo.yaml"
    text = saved.read_text()
    assert text.startswith("# Demo: ")  # the user's comments survive
    assert "runs next to whichever" in text
    prof = load_profile("demo")
    t = prof.tiers["sonnet"]
    assert (t.ctx_per_slot, t.parallel, t.cache_type_k, t.cache_type_v) == (2048, 2, "q8_0", "q8_0")
    qtbot.waitUntil(lambda: window.profile.tiers["sonnet"].parallel == 2)


def test_auto_context_asks_the_planner_and_saves_auto(window, qtbot):
    window.monitor.stop()
    plan = window.plan
    window.tiers.select("scratch")
    qtbot.waitUntil(lambda: plan.current_facts() is not None, timeout=10000)
    plan.set_detection(small_device(21))
    with qtbot.waitSignal(plan.verdict_changed, timeout=10000) as sig:
        plan.ctx_auto.setChecked(True)
    assert sig.args[0].startswith("fits")
    assert not plan.ctx.isEnabled()
    assert "auto — the planner picks" in plan.notes.text()
    picked = plan.estimate.ctx_per_slot
    assert picked >= 1024 and plan.ctx.value() == picked
    with qtbot.waitSignal(window.profile_loaded, timeout=10000):
        plan.apply()
    assert window.profile.tiers["scratch"].ctx_per_slot is None  # saved as auto


def test_a_shared_tier_is_planned_as_its_engine(window, qtbot, tierdeck_home):
    """haiku (2 slots) and sonnet (1 slot, 4096) share one llama-server: the plan is that
    server's (3 slots, one 4096-token pool), the group counts it once, and edits still go
    to haiku's own keys."""
    window.monitor.stop()
    plan = window.plan
    window.tiers.select("haiku")
    qtbot.waitUntil(lambda: plan.current_facts() is not None, timeout=10000)
    plan.set_detection(small_device(64))
    qtbot.waitUntil(lambda: plan.estimate is not None, timeout=10000)
    assert plan.estimate.parallel == 3 and plan.estimate.ctx_per_slot == 4096
    assert plan.estimate.kv_unified
    assert plan.engine_note.isVisibleTo(plan)
    assert plan.engine_note.text().startswith(
        "haiku shares one llama-server with sonnet: 3 slots, one 4096-token pool")
    assert "haiku+sonnet 3 slots, one 4096-token pool" in plan.bar.model.title
    # what the supervisor starts: the same engine the profile builds
    eng = window.profile.engines["haiku+sonnet"]
    assert (eng.parallel, eng.ctx_per_slot) == (3, 4096)
    assert [s.label for s in plan.group_bar.model.segments][:2] == ["haiku+sonnet", "scratch"]
    assert len(plan.group_plan.estimates) == 2  # the engine once, not haiku and sonnet

    # a member's edit changes the engine: haiku's 3 slots make 4, sonnet keeps its pool
    with qtbot.waitSignal(plan.verdict_changed, timeout=10000):
        plan.slots.setValue(3)
    assert plan.estimate.parallel == 4 and plan.estimate.ctx_per_slot == 4096
    assert "4 slots" in plan.engine_note.text()
    plan.set_ctx_per_slot(8192)  # larger than sonnet's: the pool follows the largest
    qtbot.waitUntil(lambda: plan.estimate.ctx_per_slot == 8192, timeout=10000)
    assert plan.ctx.value() == 8192
    with qtbot.waitSignal(window.profile_loaded, timeout=10000):
        plan.apply()
    prof = load_profile("demo")
    assert (prof.tiers["haiku"].parallel, prof.tiers["haiku"].ctx_per_slot) == (3, 8192)
    assert prof.tiers["sonnet"].parallel == 1 and prof.tiers["sonnet"].ctx_per_slot == 4096
    assert (prof.engines["haiku+sonnet"].parallel, prof.engines["haiku+sonnet"].ctx_per_slot) == (4, 8192)
    window.tiers.select("opus")  # a remote tier: no engine line left over from haiku
    assert not plan.engine_note.isVisibleTo(plan)
