"""The Plan tab's logic without Qt: facts cache, per-tier planning, group planning, saving.

PlanView (the widgets) asks this controller what to show and hands it what the user edited;
A tier of a shared group is planned as its ENGINE (engine_for): the one llama-server the
supervisor starts for all members, rebuilt with the member as edited; the sliders still edit
(and save) the member's own keys.
everything here can be driven from a test or a script with no window. Reading GGUF facts and
fit_context are slow enough for a worker thread: the view runs them on its TaskRunner and
passes the result back in (got_facts), so this module never starts a thread itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware import Device
from tierdeck.core.planner import Estimate, FitResult, MultiPlan, PlanRequest, estimate, plan_tiers
from tierdeck.core.profiles import Profile, ProfileEditor, Tier
from tierdeck.core.profiles.engines import build_engine
from tierdeck.core.servers.tierplan import plan_request

THINKING = (("template default", None), ("on", True), ("off", False))


def ctx_steps(max_ctx: int) -> list[int]:
    """Slider stops: 256, 512, 1K, 2K, 3K, 4K, 6K, 8K, 12K, 16K ... up to the training context."""
    steps = [256, 512]
    n = 1024
    while n <= max(max_ctx, 1024):
        steps.append(n)
        half = n + n // 2
        if half <= max_ctx and n >= 2048:
            steps.append(half)
        n *= 2
    if max_ctx > steps[-1]:
        steps.append(max_ctx)
    return sorted(set(s for s in steps if s <= max(max_ctx, 256)))


def read_model_facts(tier: Tier) -> ModelFacts:
    """GGUF facts of a tier's model (a worker's job: it reads the file)."""
    from tierdeck.core.demo import ensure_builtin_model  # noqa: PLC0415
    from tierdeck.core.gguf import read_facts  # noqa: PLC0415

    ensure_builtin_model(tier.model_path)
    return read_facts(tier.model_path)


def tier_request(tier: Tier) -> PlanRequest:
    return plan_request(tier, tier.ctx_per_slot)


def save_tier(profile: Profile, original: Tier, edited: Tier) -> Profile:
    """Write the changed settings of one tier into its profile file, keeping comments."""
    ed = ProfileEditor.open(profile)
    name = original.name
    if edited.ctx_per_slot != original.ctx_per_slot:
        ed.set_tier(name, "ctx_per_slot", edited.ctx_per_slot if edited.ctx_per_slot else "auto")
    if edited.parallel != original.parallel:
        ed.set_tier(name, "parallel", edited.parallel)
    if (edited.cache_type_k, edited.cache_type_v) != (original.cache_type_k, original.cache_type_v):
        ed.delete(["tiers", name, "cache_type_k"])
        ed.delete(["tiers", name, "cache_type_v"])
        if edited.cache_type_k == edited.cache_type_v:
            ed.set_tier(name, "cache_type", edited.cache_type_k)
        else:
            ed.delete(["tiers", name, "cache_type"])
            ed.set_tier(name, "cache_type_k", edited.cache_type_k)
            ed.set_tier(name, "cache_type_v", edited.cache_type_v)
    if edited.kv_unified != original.kv_unified:
        ed.set_tier(name, "kv_unified", edited.kv_unified)
    if edited.thinking != original.thinking:
        if edited.thinking is None:
            ed.delete(["tiers", name, "thinking"])
        else:
            ed.set_tier(name, "thinking", edited.thinking)
    return ed.save()


@dataclass(frozen=True)
class Edits:
    """What the Plan form holds for one tier."""

    ctx_per_slot: int | None  # None = auto
    parallel: int
    kv_unified: bool
    cache_type_k: str
    cache_type_v: str
    thinking: bool | None


@dataclass(frozen=True)
class GroupPlan:
    names: list[str]
    plan: MultiPlan


AltKey = tuple[int | None, int | None, str, str]  # (ctx per slot, slots, cache K, cache V)


def alternatives(fit: FitResult) -> list[tuple[AltKey, Estimate]]:
    """Configurations that fit, best first, each once."""
    out: list[tuple[AltKey, Estimate]] = []
    seen: set[AltKey] = set()
    for est in ([fit.best] if fit.best is not None else []) + list(fit.alternatives):
        key = (est.ctx_per_slot, est.parallel, est.type_k, est.type_v)
        if key in seen or not est.fits:
            continue
        seen.add(key)
        out.append((key, est))
    return out


class PlanController:
    """Facts per model file and the estimates of a profile's tiers (UI thread only)."""

    def __init__(self) -> None:
        self.profile: Profile | None = None
        # model path -> ModelFacts, an error string, or None while it is being read
        self.facts: dict[str, ModelFacts | str | None] = {}
        self._planned: dict[str, int | None] = {}
        self._estimates: dict[str, Estimate] = {}  # tier -> Estimate of its saved settings

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self._planned = {}

    # ---- facts -------------------------------------------------------------------------
    def needs_facts(self, tier: Tier) -> bool:
        return not tier.is_remote and tier.model_path is not None and str(tier.model_path) not in self.facts

    def reading(self, tier: Tier) -> str:
        """Mark the tier's model as being read; the key to hand back to got_facts."""
        key = str(tier.model_path)
        self.facts[key] = None
        return key

    def got_facts(self, key: str, facts: ModelFacts | str) -> None:
        self.facts[key] = facts

    def facts_of(self, tier: Tier | None) -> ModelFacts | str | None:
        if tier is None or tier.model_path is None:
            return None
        return self.facts.get(str(tier.model_path))

    def usable_facts(self, tier: Tier | None) -> ModelFacts | None:
        f = self.facts_of(tier)
        return f if f is not None and not isinstance(f, str) else None

    # ---- shared engines ----------------------------------------------------------------
    def engine_for(self, edited: Tier) -> Tier | None:
        """The engine a shared tier runs on, as the supervisor would start it with this member
        as edited (slots = sum of parallel, one unified pool, one cache type); None: the tier
        has a llama-server of its own."""
        if self.profile is None:
            return None
        name = self.profile.engine_of(edited.name)
        saved = self.profile.engines.get(name)
        if saved is None or edited.name not in saved.members:
            return None
        group = next((g for g in self.profile.groups
                      if g.mode == "shared" and edited.name in g.tiers), None)
        members = [edited if m == edited.name else self.profile.tiers[m] for m in saved.members]
        engine, _warnings = build_engine(members, saved.where,  # the loader already warned
                                         ctx_pool=group.ctx_pool if group else None)
        return engine

    def planned_tier(self, edited: Tier) -> Tier:
        """What the planner plans for this tier: its engine when shared, else the tier."""
        return self.engine_for(edited) or edited

    # ---- planning ----------------------------------------------------------------------
    @staticmethod
    def edited(tier: Tier, edits: Edits) -> Tier:
        return dataclasses.replace(tier, **dataclasses.asdict(edits))

    @staticmethod
    def estimate(facts: ModelFacts, tier: Tier, dev: Device) -> Estimate:
        return estimate(facts, tier_request(tier), dev)

    def plan_all(self, dev: Device | None) -> list[Tier]:
        """Planned bytes of every tier as saved, for the cards. Returns the tiers whose facts
        must be read first (the caller reads them and calls got_facts, then this again)."""
        if self.profile is None or dev is None:
            return []
        missing = []
        for t in self.profile.local_tiers:
            if t.model_path is None:
                continue
            if self.needs_facts(t):
                if all(m.model_path != t.model_path for m in missing):  # one read per file
                    missing.append(t)
                continue
            f = self.usable_facts(t)
            planned = self.planned_tier(t)  # a shared tier's card shows its engine's bytes
            if f is None or planned.ctx_per_slot is None:
                continue
            try:
                est = self.estimate(f, planned, dev)
            except ValueError:  # a model the planner cannot size: the card shows no plan
                self._planned[t.name] = None
                continue
            self._estimates[t.name] = est
            self._planned[t.name] = int(est.total_bytes)
        return missing

    def plan_group(self, edited: Tier, dev: Device) -> GroupPlan | None:
        """The co-resident group of the tier, with this tier as edited (None: no group of two
        with known facts). A shared engine counts once, as the one server it is, whichever
        of its members the group names. Planner errors propagate: the view shows them."""
        if self.profile is None:
            return None
        prof = self.profile
        mine = prof.engine_of(edited.name)
        group = next((g for g in prof.groups if g.mode == "co-resident"
                      and any(prof.engine_of(n) == mine for n in g.tiers)), None)
        if group is None:
            return None
        members = []
        for e in dict.fromkeys(prof.engine_of(n) for n in group.tiers):  # in order, once each
            if e == mine:
                t: Tier | None = self.planned_tier(edited)
            else:
                t = prof.engines.get(e) or prof.tiers.get(e)
            f = self.usable_facts(t) if t is not None else None
            if t is None or t.is_remote or f is None:
                continue
            members.append((e, f, tier_request(t)))
        if len(members) < 2:
            return None
        mp = plan_tiers([(f, r) for _n, f, r in members], dev)
        return GroupPlan([n for n, _f, _r in members], mp)

    def planned_bytes(self) -> dict[str, int | None]:
        return dict(self._planned)

    def weights_bytes(self, tier: str) -> int | None:
        if self.profile is None or tier not in self.profile.tiers:
            return None
        f = self.usable_facts(self.profile.tiers[tier])
        return f.weights_bytes if f is not None else None

    def bandwidth_tps(self, tier: str) -> float | None:
        est = self._estimates.get(tier)
        return est.speed_tokens_per_s if est is not None else None
