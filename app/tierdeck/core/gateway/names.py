"""Which tier a request's `model` names.

Known names, first match wins: the profile's `model_map`, tier names, tier aliases (the
names TierDeck puts in ANTHROPIC_DEFAULT_*_MODEL), a remote tier's cloud id, then real
Claude ids by family ("claude-haiku-4-5-20251001", "claude-3-5-haiku-latest",
"claude-sonnet-4-5[1m]") to the tier serving that Claude Code slot.
"""

from __future__ import annotations

import re

from tierdeck.core.profiles.schema import SLOTS, Profile

FAMILY_RE = re.compile(r"claude(?:[-.\w]*?)[-.](haiku|sonnet|opus)\b")
SUFFIX_RE = re.compile(r"\[[^\]]*\]$")  # Claude Code's context-size suffix: "[1m]"


class ModelMap:
    def __init__(self, profile: Profile):
        self.exact: dict[str, str] = {}
        for tier in profile.tiers.values():
            names = [tier.name, tier.alias]
            if tier.is_remote and tier.model:
                names.append(tier.model)
            for n in names:
                if n:
                    self.exact.setdefault(n.lower(), tier.name)
        for name, tier_name in profile.model_map.items():
            self.exact[name.lower()] = tier_name  # the profile's word wins
        self.by_family: dict[str, str] = {}
        for tier in profile.tiers.values():
            if tier.slot in SLOTS:
                self.by_family.setdefault(tier.slot, tier.name)

    def resolve(self, model: object) -> str | None:
        """The tier for a model name, or None when nothing matches."""
        if not isinstance(model, str) or not model:
            return None
        key = model.strip().lower()
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        key = SUFFIX_RE.sub("", key)
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        m = FAMILY_RE.search(key)
        if m:
            return self.by_family.get(m.group(1))
        return None

    def known(self) -> list[str]:
        """Names to list in an 'unknown model' error."""
        out = list(dict.fromkeys(self.exact))
        out += [f"claude-*-{f}* ({t})" for f, t in self.by_family.items()]
        return out
