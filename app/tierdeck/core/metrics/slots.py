"""The /slots answer: which slots are busy and how many tokens each holds right now."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class SlotInfo:
    id: int
    processing: bool
    n_ctx: int  # context of this slot
    context_tokens: int  # tokens the slot's context holds for the running task (0 when idle)
    prompt_processed: int  # prompt tokens evaluated so far for the current task
    decoded: int  # tokens generated so far for the current task

    def to_dict(self) -> dict:
        return asdict(self)


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def parse_slots(data: Any) -> list[SlotInfo]:
    """Tolerant of older builds: missing fields read as 0, `next_token` as a dict or list."""
    if not isinstance(data, list):
        raise ValueError("/slots did not return a JSON list")
    slots = []
    for i, s in enumerate(data):
        if not isinstance(s, dict):
            continue
        nt = s.get("next_token") or {}
        if isinstance(nt, list):
            nt = nt[0] if nt and isinstance(nt[0], dict) else {}
        processing = s.get("is_processing")
        if processing is None:  # builds before is_processing had a numeric "state"
            processing = _int(s.get("state")) != 0
        processing = bool(processing)
        slots.append(
            SlotInfo(
                id=_int(s.get("id", i)),
                processing=processing,
                n_ctx=_int(s.get("n_ctx")),
                # Recent builds zero these on release, older ones keep the last task's;
                # either way an idle slot holds nothing in flight.
                context_tokens=_context_tokens(s, nt) if processing else 0,
                prompt_processed=_int(s.get("n_prompt_tokens_processed")) if processing else 0,
                decoded=_int(nt.get("n_decoded")) if processing else 0,
            )
        )
    return slots


def _context_tokens(s: dict, nt: dict) -> int:
    # 2025+ builds: n_prompt_tokens is the slot's whole token list, and generated tokens are
    # appended to it as they are sampled. Older builds had n_past for the same thing.
    if "n_past" in s:
        return _int(s["n_past"])
    return _int(s.get("n_prompt_tokens"))
