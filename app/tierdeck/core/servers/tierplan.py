"""The plan a tier starts with: context per slot and the bytes the planner expects.

Explicit numbers in the profile are kept (and estimated); `ctx_per_slot: auto` asks the
planner for the largest context that fits the device. When the GGUF cannot be read or the
planner is not available, auto is left to llama-server's own --fit and nothing is planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tierdeck.core.profiles.schema import Tier


@dataclass
class TierPlan:
    ctx_per_slot: int | None  # what -c / -np get; None = llama-server decides (--fit)
    planned_bytes: int | None = None
    estimate: dict | None = None  # planner Estimate.to_dict() when there is one
    device: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "ctx_per_slot": self.ctx_per_slot, "planned_bytes": self.planned_bytes,
            "estimate": self.estimate, "device": self.device, "notes": self.notes,
        }


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




def _device(reserve_mib: int):
    from tierdeck.core.hardware import detect_devices  # noqa: PLC0415

    det = detect_devices(reserve_mib)
    return det.devices[0] if det.devices else None


def plan_tier(tier: Tier, reserve_mib: int = 1024, device=None) -> TierPlan:
    """Never raises: a missing planner or unreadable GGUF only means 'not planned'."""
    plan = TierPlan(ctx_per_slot=tier.ctx_per_slot)
    try:
        from tierdeck.core.gguf import read_facts  # noqa: PLC0415
        from tierdeck.core.planner import estimate, fit_context  # noqa: PLC0415
    except ImportError:
        plan.notes.append("planner not available: llama-server picks what it can (--fit)")
        return plan
    try:
        facts = read_facts(tier.model_path)
    except Exception as e:  # GGUFError and friends: the load itself will say more
        plan.notes.append(f"cannot read the GGUF for planning: {e}")
        return plan
    try:
        dev = device if device is not None else _device(reserve_mib)
        if dev is None:
            plan.notes.append("no device detected: not planned")
            return plan
        plan.device = f"{dev.kind}:{dev.index} {dev.name}"
        if tier.ctx_per_slot is None:
            fit = fit_context(facts, plan_request(tier, None), dev)
            if fit.best is None:
                plan.notes.append(f"planner: does not fit: {fit.explanation}")
                return plan
            est = fit.best
            plan.ctx_per_slot = est.ctx_per_slot
        else:
            est = estimate(facts, plan_request(tier, tier.ctx_per_slot), dev)
            if not est.fits:
                plan.notes.append("planner: this configuration may not fit the device")
        plan.planned_bytes = int(est.total_bytes)
        plan.estimate = est.to_dict()
    except Exception as e:  # a planner bug must not stop a server from starting
        plan.notes.append(f"planner error: {type(e).__name__}: {e}")
    return plan
