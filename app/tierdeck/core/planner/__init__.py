"""From a GGUF and a device budget to context, slots and cache type that fit."""

from tierdeck.core.planner.estimate import Estimate, PlanRequest, estimate
from tierdeck.core.planner.fit import FitResult, fit_context
from tierdeck.core.planner.tiers import MultiPlan, plan_tiers

__all__ = ["Estimate", "FitResult", "MultiPlan", "PlanRequest", "estimate", "fit_context", "plan_tiers"]
