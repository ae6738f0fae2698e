"""What a client needs to use a tier: Claude Code / Agent SDK environment, a LiteLLM entry.

llama-server speaks the Anthropic Messages API natively, so Claude Code can point
ANTHROPIC_BASE_URL straight at a tier. Claude Code has one base URL: the env block of a tier
sends every request to that tier's server, and names the tier's model slot
(ANTHROPIC_DEFAULT_<SLOT>_MODEL) with its alias. To route haiku/sonnet/opus to different
servers at once, use the LiteLLM entries (one per tier, `anthropic/<alias>`).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from tierdeck.core.profiles.schema import Profile, Tier
from tierdeck.core.servers.events import ServerStatus
from tierdeck.core.servers.urls import connect_host

FORMATS = ("shell", "dotenv", "json", "litellm")
ANTHROPIC_API = "https://api.anthropic.com"
NO_KEY = "none"  # llama-server without --api-key accepts any token; clients insist on one


@dataclass
class ClientSettings:
    tier: str
    profile: str
    base_url: str
    model: str  # the name clients send: the alias (local) or the cloud model id (remote)
    env: dict[str, str]
    litellm: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"tier": self.tier, "profile": self.profile, "base_url": self.base_url,
                "model": self.model, "env": self.env, "litellm": self.litellm,
                "notes": self.notes}

    def render(self, fmt: str = "shell") -> str:
        if fmt == "shell":
            lines = [f"# {n}" for n in self.notes]
            lines += [f"export {k}={shlex.quote(v)}" for k, v in self.env.items()]
            return "\n".join(lines) + "\n"
        if fmt == "dotenv":
            lines = [f"# {n}" for n in self.notes]
            lines += [f"{k}={_dotenv_quote(v)}" for k, v in self.env.items()]
            return "\n".join(lines) + "\n"
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if fmt == "litellm":
            return litellm_yaml([self.litellm])
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")


def _dotenv_quote(v: str) -> str:
    if v and all(c.isalnum() or c in "-_./:@+,=" for c in v):
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def client_settings(tier: Tier, profile: Profile | str, status: ServerStatus | None = None) -> ClientSettings:
    """Settings for one tier. status: its ServerStatus when running (gives the real port)."""
    pname = profile if isinstance(profile, str) else profile.name
    notes: list[str] = []
    slot = tier.slot
    if tier.is_remote:
        base = (tier.base_url or ANTHROPIC_API).rstrip("/")
        model = tier.model or tier.alias
        env = {"ANTHROPIC_BASE_URL": base}
        if slot:
            env[f"ANTHROPIC_DEFAULT_{slot.upper()}_MODEL"] = model
        key_env = tier.api_key_env or "ANTHROPIC_API_KEY"
        notes.append(f"{tier.name} is remote: authentication comes from your own login or "
                     f"{key_env}")
        litellm = {"model_name": tier.alias or model,
                   "litellm_params": {"model": f"anthropic/{model}", "api_key": f"os.environ/{key_env}"}}
        if base != ANTHROPIC_API:
            litellm["litellm_params"]["api_base"] = base
        return ClientSettings(tier.name, pname, base, model, env, litellm, notes)

    port = (status.port if status is not None else None) or tier.port
    if port is None:
        port_text = "PORT"
        notes.append(f"{tier.name} uses port: auto; the port is known once it runs "
                     f"(tierdeck up {pname} {tier.name}), then ask again")
    else:
        port_text = str(port)
    base = f"http://{connect_host(tier.host)}:{port_text}"
    token = tier.api_key or NO_KEY
    env = {"ANTHROPIC_BASE_URL": base, "ANTHROPIC_AUTH_TOKEN": token}
    if slot:
        env[f"ANTHROPIC_DEFAULT_{slot.upper()}_MODEL"] = tier.alias
        if slot == "haiku":
            # Subagents are the fast, parallel work: they belong on the fast tier.
            env["CLAUDE_CODE_SUBAGENT_MODEL"] = tier.alias
    else:
        notes.append(f"{tier.name} serves no Claude Code slot (slot: none); use the alias "
                     f"{tier.alias} as the model name")
    litellm = {"model_name": tier.alias,
               "litellm_params": {"model": f"anthropic/{tier.alias}", "api_base": base,
                                  "api_key": token}}
    return ClientSettings(tier.name, pname, base, tier.alias, env, litellm, notes)


def profile_client_settings(profile: Profile, statuses: list[ServerStatus] | None = None) -> list[ClientSettings]:
    """One entry per tier of a profile, with real ports for the ones running."""
    by_tier = {s.tier: s for s in (statuses or []) if s.profile == profile.name}
    return [client_settings(t, profile, by_tier.get(t.name)) for t in profile.tiers.values()]


def litellm_yaml(entries: list[dict]) -> str:
    """A `model_list:` block for LiteLLM's config.yaml."""
    import io  # noqa: PLC0415

    from ruamel.yaml import YAML  # noqa: PLC0415

    buf = io.StringIO()
    y = YAML()
    y.default_flow_style = False
    y.dump({"model_list": entries}, buf)
    return buf.getvalue()
