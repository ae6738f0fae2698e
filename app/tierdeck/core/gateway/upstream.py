"""Small upstream helpers: token bounds and counts for admission, headers for remote tiers."""

from __future__ import annotations

import os

import httpx

from tierdeck.core.profiles.schema import Tier

# Template text around the messages (role markers, a default system line, tool preamble):
# tokens the body's bytes do not account for.
TEMPLATE_MARGIN = 256
PASS_HEADERS = {"x-api-key", "authorization", "anthropic-version", "anthropic-beta",
                "content-type", "accept", "user-agent", "openai-organization",
                "openai-project"}


def upper_bound(data: bytes) -> int:
    """Prompt tokens can not exceed the body's bytes plus the template's own: every token of
    a byte-level (BPE or byte-fallback) tokenizer covers at least one byte of text, and JSON
    only adds bytes (quotes, keys, escapes)."""
    return len(data) + TEMPLATE_MARGIN


async def count_tokens(client: httpx.AsyncClient, base_url: str, api: str, body: dict,
                       headers) -> int | None:
    """The exact prompt size from the engine itself, or None when it cannot say."""
    try:
        if api == "anthropic":
            r = await client.post(f"{base_url}/v1/messages/count_tokens", json=body,
                                  headers=headers)
            if r.status_code == 200:
                return int(r.json()["input_tokens"])
            return None
        if "messages" in body:
            r = await client.post(f"{base_url}/apply-template", json=body, headers=headers)
            if r.status_code != 200:
                return None
            prompt = r.json()["prompt"]
        else:
            prompt = body.get("prompt")
            if not isinstance(prompt, str):
                return None
        r = await client.post(f"{base_url}/tokenize", json={"content": prompt},
                              headers=headers)
        return len(r.json()["tokens"]) if r.status_code == 200 else None
    except (httpx.HTTPError, KeyError, ValueError, TypeError):
        return None  # the byte bound stays: safe, only more cautious


def remote_headers(raw: list[tuple[bytes, bytes]], tier: Tier, api: str,
                   gateway_token: bool) -> list[tuple[str, str]]:
    """The client's own headers for a remote API, auth included and unchanged. When the
    gateway has a token, the client's key header carries that token, not a key for the
    remote: it is dropped and the key comes from the environment (api_key_env)."""
    out = []
    has_auth = False
    for k, v in raw:
        name = k.decode("latin-1").lower()
        if name not in PASS_HEADERS:
            continue
        if name in ("x-api-key", "authorization"):
            if gateway_token:
                continue
            has_auth = True
        out.append((name, v.decode("latin-1")))
    if not has_auth and tier.api_key_env:
        key = os.environ.get(tier.api_key_env)
        if key:
            if api == "anthropic":
                out.append(("x-api-key", key))
            else:
                out.append(("authorization", f"Bearer {key}"))
    if not any(k == "content-type" for k, _ in out):
        out.append(("content-type", "application/json"))
    if api == "anthropic" and not any(k == "anthropic-version" for k, _ in out):
        out.append(("anthropic-version", "2023-06-01"))
    return out
