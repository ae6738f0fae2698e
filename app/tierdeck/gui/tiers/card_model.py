"""What a tier card shows, as plain text: computed without Qt so tests need no screen."""

from __future__ import annotations

from dataclasses import dataclass

from tierdeck.core.profiles import Profile, Tier
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import ServerStatus
from tierdeck.core.servers.memlog import LoadedMemory
from tierdeck.core.units import fmt_bytes

# The lifecycle's predicate (core/servers/lifecycle.py), under the name the views import.
RUNNING_STATES = lifecycle.LIVE


def fmt_ctx(n: int | None) -> str:
    if n is None:
        return "auto"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    return str(n)


def fmt_thinking(thinking: bool | None) -> str:
    return {True: "thinking on", False: "thinking off"}.get(thinking, "thinking: template default")


def fmt_cache(k: str, v: str) -> str:
    return f"KV {k}" if k == v else f"K {k} / V {v}"


def loaded_total(loaded: LoadedMemory | None) -> int | None:
    """Bytes the server's load log reported, if parsed (None and 0 both mean "not yet")."""
    if loaded is None:
        return None
    return loaded.total or None


@dataclass
class CardModel:
    name: str
    title: str  # name + slot
    alias: str
    details: str  # slots x ctx, cache, thinking
    memory: str
    state: str  # stopped / starting / ready / crashed / ...
    state_text: str
    progress: int | None  # 0..100 while loading, None otherwise
    speed: str
    primary_action: str  # "Start" | "Swap to" | "Restart" | "" (remote or running)
    can_stop: bool
    is_remote: bool
    plan_note: str = ""  # "planned 1.2 GiB of 22 GiB on nvidia:0 ...", "does not fit: ..."
    gateway: str = ""  # the engine it shares, its requests in flight (gui.gateway_model)


def engine_notes(profile: Profile) -> dict[str, str]:
    """tier -> "shares engine haiku+sonnet with sonnet", from the profile's shared groups:
    true before any server or gateway runs (the gateway_model wording, so they merge)."""
    notes: dict[str, str] = {}
    for t in profile.tiers:
        engine = profile.engine_of(t)
        eng = profile.engines.get(engine)
        if eng is not None and t in eng.members:
            notes[t] = f"shares engine {engine} with {', '.join(m for m in eng.members if m != t)}"
    return notes


def card_note(engine_note: str, gateway_note: str) -> str:
    """The card's engine line: the gateway's (live: sharing, in flight, queued) when it says
    who shares; else the profile's sharing, then whatever the gateway adds."""
    if not engine_note or gateway_note.startswith("shares engine"):
        return gateway_note
    return " · ".join(p for p in (engine_note, gateway_note) if p)


def state_text(status: ServerStatus | None) -> tuple[str, str, int | None]:
    if status is None:
        return "stopped", "stopped", None
    state = status.state or "stopped"
    reason = status.reason
    progress = status.load_progress
    pct = None if progress is None else max(0, min(100, int(round(progress * 100))))
    if state == "starting":
        text = f"loading {pct}%" if pct is not None else "loading…"
    elif state == "ready":
        port = status.port
        text = f"ready on :{port}" if port else "ready"
    elif lifecycle.problem(state):
        text = f"{state}: {reason}" if reason else state
    else:
        text = state + (f" ({reason})" if reason and state != "stopped" else "")
    return state, text, pct if state == "starting" else None


def card_model(
    tier: Tier,
    status: ServerStatus | None = None,
    *,
    planned_bytes: int | None = None,
    tokens_per_s: float | None = None,
    other_running: bool = False,  # a swap partner runs: starting this one stops it
    error: str | None = None,
    gateway_note: str = "",
    engine_note: str = "",
) -> CardModel:
    """error: why the last start/stop the user asked for failed before any server ran.
    engine_note: the profile's sharing (engine_notes); gateway_note: the live one."""
    state, text, pct = state_text(status)
    if error and state in ("stopped", "failed"):
        state, text = "failed", f"failed: {error}"
    is_remote = tier.is_remote
    if is_remote:
        state, text, pct = "remote", "remote: served by the cloud, nothing to start", None
    slot = tier.slot
    title = tier.name + (f"  ·  {slot}" if slot and slot != tier.name else "")
    if is_remote:
        details = f"remote: {tier.base_url or 'cloud'}"
    else:
        details = " · ".join([
            f"{tier.parallel} × {fmt_ctx(tier.ctx_per_slot)}",
            fmt_cache(tier.cache_type_k, tier.cache_type_v),
            fmt_thinking(tier.thinking),
        ])
    planned = planned_bytes
    if planned is None and status is not None:
        planned = status.planned_bytes
    if is_remote:
        memory = f"cloud model {tier.model or ''}".strip()
    else:
        memory = f"planned {fmt_bytes(planned)}" if planned else "planned: —"
    total = loaded_total(status.loaded if status is not None else None)
    if total and not is_remote:
        memory += f" · loaded {fmt_bytes(total)}"
    plan_note = status.plan_note if status is not None and not is_remote else ""
    if plan_note and (not plan_note.startswith("planned ") or plan_note.endswith("may not fit")):
        memory += f"\n{plan_note}"  # the plan went wrong: say it on the card, not only in a log
    if is_remote or lifecycle.live(state):
        action = ""
    elif lifecycle.problem(state):
        action = "Restart"
    else:
        action = "Swap to" if other_running else "Start"
    speed = f"{tokens_per_s:.1f} tok/s" if tokens_per_s is not None and state == "ready" else ""
    return CardModel(
        name=tier.name,
        title=title,
        alias=tier.alias or "",
        details=details,
        memory=memory,
        state=state,
        state_text=text,
        progress=pct,
        speed=speed,
        primary_action=action,
        can_stop=lifecycle.active(state) and not is_remote,
        is_remote=is_remote,
        plan_note=plan_note,
        gateway=card_note(engine_note, gateway_note),
    )
