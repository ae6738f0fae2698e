"""Adapter over tierdeck.core.clients: the texts the Clients tab shows for one tier."""

from __future__ import annotations

from tierdeck.core.clients import client_settings, litellm_yaml, profile_client_settings
from tierdeck.core.profiles import Profile
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import ServerStatus


def client_texts(profile: Profile, tier: str, statuses: dict[str, ServerStatus]) -> tuple[dict[str, str], str]:
    """({"env", "dotenv", "litellm", "litellm_all"} -> text, one-line hint) for a tier."""
    if tier not in profile.tiers:
        return {}, ""
    live = {n: s for n, s in statuses.items() if lifecycle.live(s.state)}
    cs = client_settings(profile.tiers[tier], profile, live.get(tier))
    everything = profile_client_settings(profile, list(live.values()))
    texts = {
        "env": cs.render("shell"),
        "dotenv": cs.render("dotenv"),
        "litellm": cs.render("litellm"),
        "litellm_all": litellm_yaml([c.litellm for c in everything]),
    }
    hint = f"{cs.model} at {cs.base_url}" + ("" if tier in live or profile.tiers[tier].is_remote
                                            else " (not running)")
    return texts, hint
