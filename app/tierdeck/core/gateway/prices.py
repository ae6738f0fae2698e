"""What a tier's tokens would have cost at the cloud model it stands in for.

A tier's price is its profile's `price:` key, else the list price of its Claude family
(by slot, then by name): Haiku 4.5 $1 / $5, Sonnet 4.5 $3 / $15, Opus 4.5 $5 / $25 per
million input / output tokens. Prompt tokens served from llama-server's cache are priced at
the cache-read rate (a tenth of input), because the cloud model would have cached them too:
counting them at full price would inflate "cost avoided" tenfold for long agent sessions.
A remote tier avoids nothing: its tokens are paid for.
"""

from __future__ import annotations

from collections.abc import Mapping

from tierdeck.core.profiles.schema import SLOTS, Price, Profile

DEFAULT_PRICES: dict[str, Price] = {
    "haiku": Price(1.0, 5.0),
    "sonnet": Price(3.0, 15.0),
    "opus": Price(5.0, 25.0),
}
PAID = Price(0.0, 0.0, 0.0)  # a remote tier: the user pays the cloud, nothing is avoided
CACHE_READ_FACTOR = 0.1


def family(name: str | None) -> str | None:
    """haiku / sonnet / opus when the name says so (a tier, alias or Claude model id)."""
    low = (name or "").lower()
    return next((f for f in SLOTS if f in low), None)


def default_price(name: str | None) -> Price | None:
    f = family(name)
    return DEFAULT_PRICES[f] if f else None


def profile_prices(profile: Profile) -> dict[str, Price]:
    """tier name -> price, for every tier whose price is known (explicit, slot or name)."""
    out: dict[str, Price] = {}
    for t in profile.tiers.values():
        if t.is_remote:
            out[t.name] = PAID
            continue
        p = t.price or default_price(t.slot) or default_price(t.name)
        if p is not None:
            out[t.name] = p
    return out


def price_of(tier: str, prices: Mapping[str, Price] | None) -> Price | None:
    """The given price of a tier, else its family's default (None: unknown, costs nothing)."""
    if prices is not None and tier in prices:
        return prices[tier]
    return default_price(tier)


def cost_usd(price: Price | None, prompt_tokens: int, cached_tokens: int,
             completion_tokens: int) -> float:
    """Cloud cost of one request's (or a sum of requests') tokens; prompt includes cached."""
    if price is None:
        return 0.0
    cached = max(0, min(cached_tokens, prompt_tokens))
    cache_rate = price.cache_read if price.cache_read is not None else price.input * CACHE_READ_FACTOR
    return ((prompt_tokens - cached) * price.input + cached * cache_rate
            + completion_tokens * price.output) / 1e6
