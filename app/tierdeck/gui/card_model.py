"""What a tier card shows, as plain text: computed without Qt so tests need no screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tierdeck.core.units import fmt_bytes

BUSY_STATES = ("starting", "stopping")
RUNNING_STATES = ("starting", "ready")


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


def loaded_total(loaded: Any) -> int | None:
    """Bytes the server's load log reported (memlog.LoadedMemory.total), if parsed."""
    if loaded is None:
        return None
    v = getattr(loaded, "total", None)
    if v is None and isinstance(loaded, dict):
        v = loaded.get("total")
    return int(v) if v else None


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


def state_text(status: Any | None) -> tuple[str, str, int | None]:
    if status is None:
        return "stopped", "stopped", None
    state = getattr(status, "state", "stopped") or "stopped"
    reason = getattr(status, "reason", None)
    progress = getattr(status, "load_progress", None)
    pct = None if progress is None else max(0, min(100, int(round(progress * 100))))
    if state == "starting":
        text = f"loading {pct}%" if pct is not None else "loading…"
    elif state == "ready":
        port = getattr(status, "port", None)
        text = f"ready on :{port}" if port else "ready"
    elif state in ("crashed", "failed"):
        text = f"{state}: {reason}" if reason else state
    else:
        text = state + (f" ({reason})" if reason and state != "stopped" else "")
    return state, text, pct if state == "starting" else None


def card_model(
    tier: Any,
    status: Any | None = None,
    *,
    planned_bytes: int | None = None,
    tokens_per_s: float | None = None,
    other_running: bool = False,  # a swap partner runs: starting this one stops it
    error: str | None = None,
) -> CardModel:
    """error: why the last start/stop the user asked for failed before any server ran."""
    state, text, pct = state_text(status)
    if error and state in ("stopped", "failed"):
        state, text = "failed", f"failed: {error}"
    is_remote = getattr(tier, "is_remote", False)
    if is_remote:
        state, text, pct = "remote", "remote: served by the cloud, nothing to start", None
    slot = getattr(tier, "slot", None)
    title = tier.name + (f"  ·  {slot}" if slot and slot != tier.name else "")
    if is_remote:
        details = f"remote: {getattr(tier, 'base_url', None) or 'cloud'}"
    else:
        details = " · ".join([
            f"{tier.parallel} × {fmt_ctx(tier.ctx_per_slot)}",
            fmt_cache(tier.cache_type_k, tier.cache_type_v),
            fmt_thinking(tier.thinking),
        ])
    planned = planned_bytes
    if planned is None and status is not None:
        planned = getattr(status, "planned_bytes", None)
    if is_remote:
        memory = f"cloud model {getattr(tier, 'model', '') or ''}".strip()
    else:
        memory = f"planned {fmt_bytes(planned)}" if planned else "planned: —"
    total = loaded_total(getattr(status, "loaded", None) if status is not None else None)
    if total and not is_remote:
        memory += f" · loaded {fmt_bytes(total)}"
    if is_remote or state in RUNNING_STATES:
        action = ""
    elif state in ("crashed", "failed"):
        action = "Restart"
    else:
        action = "Swap to" if other_running else "Start"
    speed = f"{tokens_per_s:.1f} tok/s" if tokens_per_s is not None and state == "ready" else ""
    return CardModel(
        name=tier.name,
        title=title,
        alias=getattr(tier, "alias", "") or "",
        details=details,
        memory=memory,
        state=state,
        state_text=text,
        progress=pct,
        speed=speed,
        primary_action=action,
        can_stop=state in ("starting", "ready", "stopping") and not is_remote,
        is_remote=is_remote,
    )
