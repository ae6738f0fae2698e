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
