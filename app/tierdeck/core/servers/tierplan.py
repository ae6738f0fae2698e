"""The plan a tier starts with: context per slot and the bytes the planner expects.

Explicit numbers in the profile are kept (and estimated); `ctx_per_slot: auto` asks the
planner for the largest context that fits the device. When the GGUF cannot be read or the
planner is not available, auto is left to llama-server's own --fit and nothing is planned.
Whatever happened is said in one line (`summary()`): the status, the tier card and
`tierdeck up` show it. `tier_device()` is the one rule for which device a tier is planned
on, shared by the plan view, `tierdeck plan` and the supervisor. A tier llama.cpp spreads
over several devices (RPC hosts, several GPUs: planner.multi_fit.tier_devices) is planned
as a split, and the split's -sm/-ts/-mg go to the argv (`device_args`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tierdeck.core.profiles.schema import Tier

log = logging.getLogger(__name__)


@dataclass
class TierPlan:
    ctx_per_slot: int | None  # what -c / -np get; None = llama-server decides (--fit)
    planned_bytes: int | None = None
    estimate: dict | None = None  # planner Estimate.to_dict() when there is one
    device: str = ""
    notes: list[str] = field(default_factory=list)
    budget_bytes: int | None = None  # what the device offered (free minus reserve)
    fits: bool | None = None  # None: not planned
    devices: list[dict] = field(default_factory=list)  # a split: planner.multi.DeviceShare dicts
    device_args: list[str] | None = None  # a split's -sm/-ts/-mg for cmdline.build_command

    def to_dict(self) -> dict:
        d = {
            "ctx_per_slot": self.ctx_per_slot, "planned_bytes": self.planned_bytes,
            "estimate": self.estimate, "device": self.device, "notes": self.notes,
            "budget_bytes": self.budget_bytes, "fits": self.fits, "devices": self.devices,
        }
        d["summary"] = plan_summary(d)
        return d

    def summary(self) -> str:
        return plan_summary(self.to_dict())


def plan_summary(plan: dict | None) -> str:
    """One line for a status: "planned 22.7 GiB of 24 GiB on nvidia:0 ...", "does not fit:
    started with --fit", "not planned: cannot read the GGUF ..."; "" with no plan at all."""
    if not plan:
        return ""
    if plan.get("summary"):
        return plan["summary"]
    from tierdeck.core.units import fmt_bytes  # noqa: PLC0415

    notes = plan.get("notes") or []
    planned, budget = plan.get("planned_bytes"), plan.get("budget_bytes")
    where = f" on {plan['device']}" if plan.get("device") else ""
    if plan.get("fits") is False and not planned:
        return "does not fit" + where + ": started with llama-server's --fit"
    if planned and plan.get("devices"):
        per = ", ".join(f"{d['name']} {_of(d['total_bytes'], d['budget_bytes'])}" for d in plan["devices"])
        text = f"planned {fmt_bytes(planned)} over {len(plan['devices'])} devices ({per})"
        if plan.get("fits") is False:
            text += ": may not fit"
        return text
    if planned:
        text = f"planned {fmt_bytes(planned)}"
        text += f" of {fmt_bytes(budget)}" if budget else ""
        text += where
        if plan.get("fits") is False:
            text += ": may not fit"
        return text
    return "not planned: " + notes[0] if notes else "not planned"


def _of(used: int, budget: int) -> str:
    """"9.9 of 11.0 GiB" (one unit when both share it), "512.0 MiB of 1.0 GiB" otherwise."""
    from tierdeck.core.units import fmt_bytes  # noqa: PLC0415

    a, b = fmt_bytes(used), fmt_bytes(budget)
    if a.split()[-1] == b.split()[-1]:
        a = a.split()[0]
    return f"{a} of {b}"


def plan_request(tier: Tier, ctx: int | None = None):
    """The planner's PlanRequest for a tier: the same mapping the supervisor starts with."""
    from tierdeck.core.planner import PlanRequest  # noqa: PLC0415

    ngl = tier.ngl if isinstance(tier.ngl, int) else None
    kwargs = dict(
        ctx_per_slot=ctx, parallel=tier.parallel, kv_unified=tier.kv_unified,
        type_k=tier.cache_type_k, type_v=tier.cache_type_v, flash_attn=tier.flash_attn,
        ngl=ngl, n_cpu_moe=tier.n_cpu_moe or 0,
    )
    if tier.ubatch:
        kwargs["ubatch"] = tier.ubatch
    if tier.batch:
        kwargs["batch"] = tier.batch
    return PlanRequest(**kwargs)


def tier_device(detection, tier: Tier | None = None):
    """The device a tier is planned on: the detection's default (the GPU with the most
    budget, else host memory). One rule, so the plan view, `tierdeck plan` and the
    supervisor agree. (A tier over several devices, or kept to some by `devices:`, is
    planned through planner.multi_fit.tier_devices first.)"""
    if detection is None or not detection.devices:
        return None
    return detection.default_device()


def plan_tier(tier: Tier, reserve_mib: int = 1024, device=None, detection=None) -> TierPlan:
    """Never raises: an unreadable GGUF or a planner error only means 'not planned' (said in
    the notes and the summary). device: plan on this one device; detection: a hardware
    Detection to plan on instead of detecting now (injected readings), or a function that
    gives one, called only when the plan needs the devices (the supervisor's long-lived
    hardware session); a None from either means: detect now."""
    from tierdeck.core.gguf import GGUFError, read_facts  # noqa: PLC0415

    plan = TierPlan(ctx_per_slot=tier.ctx_per_slot)

    try:
        facts = read_facts(tier.model_path)
    except (GGUFError, OSError, ValueError) as e:  # the load itself will say more
        plan.notes.append(f"cannot read the GGUF for planning: {e}")
        return plan
    try:
        if device is None:
            from tierdeck.core.planner.multi_fit import tier_devices  # noqa: PLC0415

            if callable(detection):
                detection = detection()
            if detection is None:
                from tierdeck.core.hardware import detect_devices  # noqa: PLC0415

                detection = detect_devices(reserve_mib)
            found = detection.devices if detection is not None else []
            several = tier_devices(tier, found)
            if len(several) >= 2:
                _plan_split(plan, tier, facts, found)
                return plan
            device = several[0] if several else tier_device(detection, tier)
        if device is None:
            plan.notes.append("no device detected: not planned")
            return plan
        _plan_one(plan, tier, facts, device)
    except Exception as e:  # a planner bug must not stop a server: said, logged, not hidden
        log.exception("planning %s failed", tier.name)
        plan.notes.append(f"planner error: {type(e).__name__}: {e}")
    return plan


def _plan_one(plan: TierPlan, tier: Tier, facts, dev) -> None:
    from tierdeck.core.planner import estimate, fit_context  # noqa: PLC0415

    plan.device = f"{dev.kind}:{dev.index} {dev.name}"
    plan.budget_bytes = int(dev.budget_bytes)
    if tier.ctx_per_slot is None:
        fit = fit_context(facts, plan_request(tier, None), dev)
        if fit.best is None:
            plan.fits = False
            plan.notes.append(f"planner: does not fit: {fit.explanation}")
            return
        est = fit.best
        plan.ctx_per_slot = est.ctx_per_slot
    else:
        est = estimate(facts, plan_request(tier, tier.ctx_per_slot), dev)
        if not est.fits:
            plan.notes.append("planner: this configuration may not fit the device")
    plan.fits = bool(est.fits)
    plan.planned_bytes = int(est.total_bytes)
    plan.estimate = est.to_dict()


def _plan_split(plan: TierPlan, tier: Tier, facts, found) -> None:
    """One tier over several devices. No calibration here, as on one device: the plans the
    supervisor records are what calibrate.py learns from, so they stay the plain model."""
    from tierdeck.core.planner.multi import device_args  # noqa: PLC0415
    from tierdeck.core.planner.multi_fit import plan_tier_split  # noqa: PLC0415

    fit = plan_tier_split(tier, facts, plan_request(tier, tier.ctx_per_slot), found, None)
    est = fit.best
    plan.device = f"{len(fit.wanted.devices)} devices"
    plan.budget_bytes = int(fit.wanted.budget_bytes)
    if est is None:
        plan.fits = False
        if tier.ctx_per_slot is None:  # auto that fits nowhere: llama-server's --fit decides
            plan.notes.append(f"planner: does not fit: {fit.explanation}")
            return
        est = fit.wanted  # the user's context, planned as given
        plan.notes.append("planner: this configuration may not fit the devices")
    else:
        plan.fits = True
        plan.ctx_per_slot = est.ctx_per_slot
    plan.planned_bytes = int(est.total_bytes)
    plan.budget_bytes = int(est.budget_bytes)
    plan.estimate = est.to_dict()
    plan.devices = plan.estimate["devices"]
    plan.device_args = device_args(est)
