"""Tier profiles: YAML files naming a machine/model setup and its tiers."""

from tierdeck.core.profiles.errors import Issue, ProfileError
from tierdeck.core.profiles.loader import load_profile_file, profile_from_text
from tierdeck.core.profiles.schema import DEMO_MODEL_TOKEN, Group, Profile, Tier
from tierdeck.core.profiles.store import (
    ProfileEditor,
    ProfileEntry,
    check_startable,
    list_profiles,
    load_profile,
)

__all__ = [
    "DEMO_MODEL_TOKEN",
    "Group",
    "Issue",
    "Profile",
    "ProfileEditor",
    "ProfileEntry",
    "ProfileError",
    "Tier",
    "check_startable",
    "list_profiles",
    "load_profile",
    "load_profile_file",
    "profile_from_text",
]
