"""A tier's per-request settings written into a request body (a parsed JSON dict).

What llama-server lets a request set (b11434): `chat_template_kwargs` on every chat route
(merged with the server's defaults, key by key), a thinking budget (`thinking_budget_tokens`
on the OpenAI routes; on /v1/messages only through Anthropic's `thinking.budget_tokens`),
`max_tokens`, and sampling (the /v1/messages conversion keeps temperature, top_p and top_k).

Precedence for thinking: a client's own `chat_template_kwargs.enable_thinking` (an explicit
llama.cpp knob) > the tier's `thinking` > an Anthropic `thinking: {type: disabled}`. The
client's other kwargs are kept: the tier's value is merged in, never replacing the object.
"""

from __future__ import annotations

from tierdeck.core.profiles.schema import Tier

OPENAI_MAX_KEYS = ("max_tokens", "max_completion_tokens", "n_predict")


def _thinking_on(body: dict, tier: Tier, api: str) -> bool | None:
    kwargs = body.get("chat_template_kwargs")
    if isinstance(kwargs, dict) and isinstance(kwargs.get("enable_thinking"), bool):
        return kwargs["enable_thinking"]
    if tier.thinking is not None:
        return tier.thinking
    if api == "anthropic":
        t = body.get("thinking")
        if isinstance(t, dict) and t.get("type") == "disabled":
            return False
        if isinstance(t, dict) and t.get("type") == "enabled":
            return True
    return None


def apply_tier(body: dict, tier: Tier, api: str) -> None:
    """Mutates body. api: "anthropic" (/v1/messages) or "openai" (chat/completions)."""
    on = _thinking_on(body, tier, api)
    if on is not None:
        kwargs = body.get("chat_template_kwargs")
        merged = dict(kwargs) if isinstance(kwargs, dict) else {}
        merged["enable_thinking"] = on
        body["chat_template_kwargs"] = merged
    budget = tier.reasoning_budget
    if api == "anthropic":
        t = body.get("thinking")
        if on is False and isinstance(t, dict) and t.get("type") == "enabled":
            body.pop("thinking")  # its budget would only confuse a turn without thinking
        elif on and budget is not None and budget >= 0:
            asked = t.get("budget_tokens") if isinstance(t, dict) else None
            keep = min(asked, budget) if isinstance(asked, int) else budget
            body["thinking"] = {"type": "enabled", "budget_tokens": keep}
    elif budget is not None and "thinking_budget_tokens" not in body \
            and "reasoning_budget_tokens" not in body:
        body["thinking_budget_tokens"] = budget
    cap = tier.max_tokens
    if cap:
        keys = ("max_tokens",) if api == "anthropic" else OPENAI_MAX_KEYS
        present = [k for k in keys if isinstance(body.get(k), int) and body[k] >= 0]
        for k in present:
            body[k] = min(body[k], cap)
        if not present:
            body["max_tokens"] = cap
    for k, v in tier.sampling.items():
        body.setdefault(k, v)


def max_tokens_of(body: dict, api: str) -> int | None:
    """What the request may generate at most, as llama-server will read it."""
    if api == "anthropic":
        v = body.get("max_tokens", 4096)  # the server's default on /v1/messages
        return v if isinstance(v, int) and v >= 0 else None
    for k in ("n_predict", "max_completion_tokens", "max_tokens"):  # n_predict wins
        v = body.get(k)
        if isinstance(v, int) and v >= 0:
            return v
    return None
