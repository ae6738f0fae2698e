"""One finished gateway request, as the usage ledger stores it.

Field for field the `RequestRecord` of tierdeck.core.gateway.ledger (written by the ledger's
owner); kept here so the gateway does not depend on the ledger module being present.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RequestRecord:
    ts: float  # epoch seconds when the request ended
    tier: str
    model: str  # the model name the client asked for
    engine: str
    api: str  # "anthropic" | "openai"
    status: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    ttft_ms: float | None  # streams: time to the first upstream body chunk
    duration_ms: float
    stream: bool
