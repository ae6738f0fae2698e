"""What a client needs to use a profile's tiers: Claude Code / Agent SDK environment, an
OpenAI base_url, LiteLLM entries.

The usual way in is the gateway (gateway_clients): Claude Code has ONE base URL for its
haiku, sonnet and opus slots, and the gateway routes each request to its tier by model name,
so one env block covers every tier and survives swaps and `port: auto`. A tier's own server
stays reachable directly (client_settings): llama-server speaks the Anthropic Messages API
natively, so ANTHROPIC_BASE_URL can point straight at it, for that one tier.

Secrets are never written out: a gateway that requires a token gets a reference to the
environment variable holding it (EnvRef), rendered as a variable, not as its value.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from tierdeck.core.gateway.control import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV
from tierdeck.core.profiles.schema import SLOTS, Profile, Tier
from tierdeck.core.servers.events import ServerStatus
from tierdeck.core.servers.urls import base_url, connect_host

FORMATS = ("shell", "dotenv", "json", "litellm")
GATEWAY_FORMATS = (*FORMATS, "openai")
ANTHROPIC_API = "https://api.anthropic.com"
NO_KEY = "none"  # llama-server without --api-key accepts any token; clients insist on one
GATEWAY_URL = base_url(DEFAULT_HOST, DEFAULT_PORT)  # where `tierdeck gateway` listens by default


class EnvRef(str):
    """An env value that is the name of another environment variable (a secret's holder)."""


def _render_env(env: dict[str, str], notes: list[str], fmt: str) -> str:
    lines = [f"# {n}" for n in notes]
    for k, v in env.items():
        if fmt == "shell":
            lines.append(f'export {k}="${v}"' if isinstance(v, EnvRef) else f"export {k}={shlex.quote(v)}")
        else:
            lines.append(f"{k}=${{{v}}}" if isinstance(v, EnvRef) else f"{k}={_dotenv_quote(v)}")
    return "\n".join(lines) + "\n"


def _json_env(env: dict[str, str]) -> dict[str, str]:
    return {k: f"${{{v}}}" if isinstance(v, EnvRef) else v for k, v in env.items()}


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
        if fmt in ("shell", "dotenv"):
            return _render_env(self.env, self.notes, fmt)
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


@dataclass
class GatewayClients:
    """Every tier of a profile through the gateway: one base URL, one model name per tier."""

    profile: str
    url: str  # Anthropic base URL (the gateway's root)
    running: bool  # a gateway is up (else url is where `tierdeck gateway` would listen)
    env: dict[str, str]  # Claude Code / Agent SDK
    openai_env: dict[str, str]  # OPENAI_BASE_URL / OPENAI_API_KEY for the OpenAI SDKs
    litellm: list[dict[str, Any]]  # one model_list entry per tier, all at the gateway
    models: dict[str, str]  # tier -> the model name clients send for it
    notes: list[str] = field(default_factory=list)

    @property
    def openai_base_url(self) -> str:
        return self.openai_env["OPENAI_BASE_URL"]

    def to_dict(self) -> dict:
        return {"profile": self.profile, "url": self.url, "running": self.running,
                "env": _json_env(self.env),
                "openai": {"base_url": self.openai_base_url,
                           "api_key": _json_env(self.openai_env)["OPENAI_API_KEY"]},
                "litellm": self.litellm, "models": self.models, "notes": self.notes}

    def render(self, fmt: str = "shell") -> str:
        if fmt in ("shell", "dotenv"):
            return _render_env(self.env, self.notes, fmt)
        if fmt == "openai":
            return _render_env(self.openai_env, [], "shell")
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if fmt == "litellm":
            return litellm_yaml(self.litellm)
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(GATEWAY_FORMATS)})")


def gateway_clients(profile: Profile, gateway: Any = None) -> GatewayClients:
    """Client settings through the gateway. gateway: the running one's GatewayRecord
    (core.gateway.control.read_gateway()), or None for the default address."""
    notes: list[str] = []
    url = (gateway.url if gateway is not None else GATEWAY_URL).rstrip("/")
    if gateway is None:
        notes.append(f"the gateway is not running: start it with `tierdeck gateway {profile.name}` "
                     "or from the window")
    elif gateway.profile != profile.name:
        notes.append(f"the gateway at {url} serves profile {gateway.profile}, "
                     f"not {profile.name}: restart it with this profile")
    token: str = NO_KEY
    if gateway is not None and gateway.token_required:
        token = EnvRef(TOKEN_ENV)
        notes.append(f"this gateway requires its token: set {TOKEN_ENV} to it first")
    models = {t.name: (t.model or t.alias) if t.is_remote else t.alias
              for t in profile.tiers.values()}
    env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_AUTH_TOKEN": token}
    for slot in SLOTS:
        tier = next((t for t in profile.tiers.values() if t.slot == slot), None)
        if tier is None:
            notes.append(f"no tier serves the {slot} slot: Claude Code's own {slot} model "
                         "name will be refused by the gateway")
            continue
        env[f"ANTHROPIC_DEFAULT_{slot.upper()}_MODEL"] = models[tier.name]
        if slot == "haiku":
            # Subagents are the fast, parallel work: they belong on the fast tier.
            env["CLAUDE_CODE_SUBAGENT_MODEL"] = models[tier.name]
    api_key = f"os.environ/{TOKEN_ENV}" if isinstance(token, EnvRef) else token
    litellm = [{"model_name": models[name],
                "litellm_params": {"model": f"anthropic/{models[name]}", "api_base": url,
                                   "api_key": api_key}}
               for name in profile.tiers]
    openai_env = {"OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": token}
    return GatewayClients(profile.name, url, gateway is not None, env, openai_env, litellm,
                          models, notes)
