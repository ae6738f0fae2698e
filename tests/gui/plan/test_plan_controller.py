"""PlanController without a window: facts, per-tier plans, the co-resident group, alternatives."""

from __future__ import annotations

from pathlib import Path

from tierdeck.core.hardware import Device
from tierdeck.core.planner import fit_context
from tierdeck.core.profiles import profile_from_text
from tierdeck.core.units import GiB, MiB
from tierdeck.gui.plan.plan_controller import (
    Edits,
    PlanController,
    alternatives,
    read_model_facts,
    tier_request,
)
from tierdeck.gui.plan.plan_model import engine_text

PROFILE = """\
name: ctl
tiers:
  a: {model: builtin:demo, ctx_per_slot: 1024, parallel: 2}
  b: {model: builtin:demo, ctx_per_slot: 4096}
  c: {model: builtin:demo}          # auto context: no saved plan
groups:
  - {mode: co-resident, tiers: [a, b]}
"""


def device(budget: int) -> Device:
    return Device(0, "cpu", "test", budget + 64 * MiB, budget, budget, 0, "test")


def test_plans_every_tier_once_facts_are_read():
    ctl = PlanController()
    ctl.set_profile(profile_from_text(PROFILE, Path("ctl.yaml")))
    dev = device(8 * GiB)
    missing = ctl.plan_all(dev)
    assert [t.name for t in missing] == ["a"]  # one file for all three: read once
    key = ctl.reading(missing[0])
    assert ctl.plan_all(dev) == [] and ctl.planned_bytes() == {}  # still reading
    ctl.got_facts(key, read_model_facts(missing[0]))
    assert ctl.plan_all(dev) == []
    planned = ctl.planned_bytes()
    assert set(planned) == {"a", "b"} and planned["b"] > planned["a"] > 0
    assert ctl.weights_bytes("a") == ctl.usable_facts(ctl.profile.tiers["a"]).weights_bytes

    a = ctl.profile.tiers["a"]
    edited = ctl.edited(a, Edits(2048, 2, False, "q8_0", "q8_0", None))
    assert (edited.ctx_per_slot, edited.cache_type_k, edited.name) == (2048, "q8_0", "a")
    group = ctl.plan_group(edited, dev)
    assert group is not None and group.names == ["a", "b"] and group.plan.mode == "co-resident"


def test_alternatives_fit_and_are_listed_once():
    ctl = PlanController()
    ctl.set_profile(profile_from_text(PROFILE, Path("ctl.yaml")))
    b = ctl.profile.tiers["b"]
    ctl.got_facts(ctl.reading(b), read_model_facts(b))
    facts = ctl.usable_facts(b)
    small = device(int(ctl.estimate(facts, b, device(8 * GiB)).total_bytes * 0.8))
    assert not ctl.estimate(facts, b, small).fits
    options = alternatives(fit_context(facts, tier_request(b), small))
    assert options and all(est.fits for _k, est in options)
    assert len({k for k, _e in options}) == len(options)


SHARED = """\
name: shared
tiers:
  haiku: {model: builtin:demo, ctx_per_slot: 1024, parallel: 2, cache_type: q8_0}
  sonnet: {model: builtin:demo, ctx_per_slot: 4096, parallel: 1}
  solo: {model: builtin:demo, ctx_per_slot: 2048}
groups:
  - {mode: shared, tiers: [haiku, sonnet]}
  - {mode: co-resident, tiers: [haiku, sonnet, solo]}
"""


def shared_ctl() -> PlanController:
    ctl = PlanController()
    ctl.set_profile(profile_from_text(SHARED, Path("shared.yaml")))
    t = ctl.profile.tiers["haiku"]
    ctl.got_facts(ctl.reading(t), read_model_facts(t))
    return ctl


def test_a_shared_tier_plans_its_engine_as_the_supervisor_starts_it():
    from tierdeck.core.servers.tierplan import plan_tier  # the supervisor's plan

    ctl = shared_ctl()
    haiku = ctl.profile.tiers["haiku"]
    engine = ctl.planned_tier(haiku)
    assert engine.name == "haiku+sonnet" and engine.members == ["haiku", "sonnet"]
    # slots = sum of parallel, one unified pool = the largest context, the most precise cache
    assert (engine.parallel, engine.ctx_per_slot, engine.kv_unified) == (3, 4096, True)
    assert (engine.cache_type_k, engine.cache_type_v) == ("f16", "f16")
    assert engine_text("haiku", engine).startswith(
        "haiku shares one llama-server with sonnet: 3 slots, one 4096-token pool, KV f16")
    dev = device(8 * GiB)
    est = ctl.estimate(ctl.usable_facts(haiku), engine, dev)
    started = plan_tier(ctl.profile.tier("haiku+sonnet"), device=dev)
    assert started.planned_bytes == int(est.total_bytes)  # exactly what the supervisor plans
    solo = ctl.profile.tiers["solo"]
    assert ctl.planned_tier(solo) is solo and ctl.engine_for(solo) is None

    # the member as edited: its slots and context change the engine
    edited = ctl.edited(haiku, Edits(8192, 4, False, "q8_0", "q8_0", False))
    engine = ctl.planned_tier(edited)
    assert (engine.parallel, engine.ctx_per_slot) == (5, 8192)

    # the cards: both members show the engine's bytes
    assert ctl.plan_all(dev) == []
    planned = ctl.planned_bytes()
    assert planned["haiku"] == planned["sonnet"] == started.planned_bytes
    assert planned["solo"] != planned["haiku"]


def test_group_plan_counts_a_shared_engine_once():
    ctl = shared_ctl()
    dev = device(8 * GiB)
    for name in ("haiku", "sonnet", "solo"):
        gp = ctl.plan_group(ctl.profile.tiers[name], dev)
        assert gp is not None and gp.names == ["haiku+sonnet", "solo"], name
        assert len(gp.plan.estimates) == 2
    edited = ctl.edited(ctl.profile.tiers["sonnet"], Edits(4096, 3, False, "f16", "f16", True))
    gp = ctl.plan_group(edited, dev)
    assert gp.plan.estimates[0].parallel == 5  # the engine with sonnet as edited
