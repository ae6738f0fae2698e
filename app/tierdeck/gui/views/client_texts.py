"""Adapter over tierdeck.core.clients: the texts the Clients tab shows for one tier."""

from __future__ import annotations

from typing import Any

from tierdeck.core.clients import client_settings, gateway_clients
from tierdeck.core.profiles import Profile
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import ServerStatus


def client_texts(profile: Profile, tier: str, statuses: dict[str, ServerStatus],
                 gateway: Any = None) -> tuple[dict[str, str], str]:
    """({"env", "openai", "litellm", "direct"} -> text, one-line hint) for a tier.

    gateway: the running gateway's record (core.gateway.control), None when it is off.
    """
    if tier not in profile.tiers:
        return {}, ""
    live = {n: s for n, s in statuses.items() if lifecycle.live(s.state)}
    gc = gateway_clients(profile, gateway)
    direct = client_settings(profile.tiers[tier], profile, live.get(tier))
    texts = {
        "env": gc.render("shell"),
        "openai": gc.render("openai"),
        "litellm": gc.render("litellm"),
        "direct": direct.render("shell"),
    }
    hint = f"{tier} is model {gc.models[tier]} at the gateway {gc.url}" + (
        "" if gc.running else " (not running)")
    if not profile.tiers[tier].is_remote:
        hint += f"; directly: {direct.base_url}" + ("" if tier in live else " (not running)")
    return texts, hint
