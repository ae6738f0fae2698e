"""Adapter over tierdeck.core.clients: the texts the Clients tab shows for one tier."""

from __future__ import annotations

from typing import Any

from tierdeck.core.clients import client_settings, litellm_yaml, profile_client_settings

LIVE = ("starting", "ready")


def client_texts(profile: Any, tier: str, statuses: dict[str, Any]) -> tuple[dict[str, str], str]:
    """({"env", "dotenv", "litellm", "litellm_all"} -> text, one-line hint) for a tier."""
    if tier not in profile.tiers:
        return {}, ""
    live = {n: s for n, s in statuses.items() if getattr(s, "state", None) in LIVE}
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
