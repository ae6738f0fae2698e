"""Shared engines: the tiers of one GGUF served by ONE llama-server.

A `shared` group turns its member tiers into one synthetic Tier, the engine, named after
its members ("haiku+sonnet"; '+' cannot appear in a tier name). Its startup settings cover
every member: slots = the sum of their `parallel`, context per slot = the largest, as one
unified KV pool every slot may fill (the group's `ctx_pool` makes it larger), one cache
type (the most precise asked for). The gateway's admission keeps the pool from overflowing. Thinking, budgets, max_tokens
and sampling stay per tier: the gateway applies them per request.

The supervisor needs no change: the engine is a Tier, `Profile.tier(engine)` returns it,
and `resolve_engines()` maps the tier names a user types to the engine names that
Supervisor.up/switch/down take.
"""

from __future__ import annotations

from dataclasses import replace

from tierdeck.core.profiles.schema import ENGINE_SEP, Profile, Tier, Where

# Most precise first: a shared pool gets the best any member asked for.
CACHE_PRECISION = ("f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "iq4_nl", "q4_0")
# Startup settings one server cannot hold two values of: members should agree.
STARTUP_KEYS = ("flash_attn", "batch", "ubatch", "ngl", "n_cpu_moe", "threads", "host",
                "api_key", "extra_args", "env", "chat_template_file")


def engine_name(members: list[str]) -> str:
    return ENGINE_SEP.join(members)


def members_of(engine: str) -> list[str]:
    """Member tiers named by an engine name (a plain tier name is its own only member)."""
    return engine.split(ENGINE_SEP)


def _best_cache(types: list[str]) -> str:
    return min(types, key=lambda t: CACHE_PRECISION.index(t) if t in CACHE_PRECISION else 99)


def build_engine(members: list[Tier], where: Where | None = None,
                 ctx_pool: int | None = None) -> tuple[Tier, list[str]]:
    """The engine Tier for a shared group's members, and warnings about settings that differ.
    Its KV pool (-c with -kvu) is ctx_pool, else the largest member context: any one request
    may use that much; the gateway admits concurrent ones while their sum fits."""
    first = members[0]
    warnings: list[str] = []
    for key in STARTUP_KEYS:
        values = {m.name: getattr(m, key) for m in members}
        if len({repr(v) for v in values.values()}) > 1:
            used = getattr(first, key)
            warnings.append(
                f"{where or first.where}: shared group {engine_name([m.name for m in members])}: "
                f"{key} differs between members ({values}); the engine uses {used!r}")
    ctxs = [m.ctx_per_slot for m in members]
    ports = [m.port for m in members if m.port is not None]
    engine = replace(
        first,
        name=engine_name([m.name for m in members]),
        alias=",".join(m.alias for m in members),  # llama-server takes several aliases
        slot=None,
        thinking=None,  # per request (chat_template_kwargs), never a server flag
        reasoning_budget=None,
        parallel=sum(m.parallel for m in members),
        ctx_per_slot=ctx_pool or (None if any(c is None for c in ctxs) else max(ctxs)),  # type: ignore[type-var]
        kv_unified=True,
        cache_type_k=_best_cache([m.cache_type_k for m in members]),
        cache_type_v=_best_cache([m.cache_type_v for m in members]),
        port=ports[0] if ports else None,
        restart="on" if any(m.restart == "on" for m in members) else "off",
        load_timeout_s=max(m.load_timeout_s for m in members),
        stop_timeout_s=max(m.stop_timeout_s for m in members),
        metrics=any(m.metrics for m in members),
        max_tokens=None,
        sampling={},
        members=[m.name for m in members],
        where=where or first.where,
        extra_args=list(first.extra_args),
        env=dict(first.env),
    )
    return engine, warnings


def resolve_engines(profile: Profile, names: list[str] | None) -> list[str] | None:
    """Tier names as a user types them -> the engine names the supervisor starts (in order,
    once each). None stays None (the profile's defaults); unknown names pass through so the
    supervisor's own error names them."""
    if names is None:
        return None
    out: list[str] = []
    for n in names:
        e = profile.engine_of(n)
        if e not in out:
            out.append(e)
    return out


def per_tier(by_engine: dict) -> dict:
    """A dict keyed by server (engine) name re-keyed by tier: each member of a shared engine
    gets the engine's value (its status, its tokens/s). Plain tier keys stay as they are."""
    out = {}
    for name, v in by_engine.items():
        for m in members_of(name):
            out[m] = v
    return out


def partner_tiers(profile: Profile, tier: str) -> list[str]:
    """The tiers a tier swaps with, by tier name (members of a partner engine each)."""
    return [m for e in profile.swap_partners(tier) for m in members_of(e)]
