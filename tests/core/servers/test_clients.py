import json
import shlex
import subprocess

from tierdeck.core.clients import client_settings, profile_client_settings
from tierdeck.core.profiles import load_profile
from tierdeck.core.servers.events import ServerStatus


def test_local_haiku_tier_env_and_litellm():
    prof = load_profile("rtx3090ti-qwen3.6-35b-a3b")
    cs = client_settings(prof.tiers["haiku"], prof)
    assert cs.env == {
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:8081",
        "ANTHROPIC_AUTH_TOKEN": "none",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "local-haiku",
        "CLAUDE_CODE_SUBAGENT_MODEL": "local-haiku",
    }
    assert cs.litellm == {"model_name": "local-haiku", "litellm_params": {
        "model": "anthropic/local-haiku", "api_base": "http://127.0.0.1:8081", "api_key": "none"}}


def test_remote_opus_tier():
    prof = load_profile("rtx3090ti-qwen3.6-35b-a3b")
    cs = client_settings(prof.tiers["opus"], prof)
    assert cs.env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "claude-opus-4-7"
    assert cs.env["ANTHROPIC_BASE_URL"] == "https://api.anthropic.com"
    assert "ANTHROPIC_AUTH_TOKEN" not in cs.env
    assert cs.litellm["litellm_params"] == {"model": "anthropic/claude-opus-4-7",
                                            "api_key": "os.environ/ANTHROPIC_API_KEY"}


def test_auto_port_uses_the_running_port():
    prof = load_profile("demo")
    t = prof.tiers["sonnet"]
    assert "PORT" in client_settings(t, prof).base_url
    st = ServerStatus(tier="sonnet", profile="demo", state="ready", port=41234)
    cs = profile_client_settings(prof, [st])
    sonnet = next(c for c in cs if c.tier == "sonnet")
    assert sonnet.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:41234"
    assert sonnet.env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "demo-sonnet"


def test_formats_round_trip():
    prof = load_profile("rtx3090ti-qwen3.6-35b-a3b")
    cs = client_settings(prof.tiers["sonnet"], prof)
    out = subprocess.run(["bash", "-c", cs.render("shell") + 'echo "$ANTHROPIC_BASE_URL"'],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "http://127.0.0.1:8081"  # sonnet shares haiku's engine (and port)
    dotenv = dict(line.split("=", 1) for line in cs.render("dotenv").splitlines()
                  if line and not line.startswith("#"))
    assert dotenv["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "local-sonnet"
    assert json.loads(cs.render("json"))["env"] == cs.env
    assert "model: anthropic/local-sonnet" in cs.render("litellm")
    assert shlex.split(cs.render("shell").splitlines()[-1])[0] == "export"


# ---- through the gateway ----------------------------------------------------------------
def gateway_record(**kw):
    from tierdeck.core.gateway.control import GatewayRecord

    d = dict(pid=1, create_time=0.0, host="127.0.0.1", port=4100, profile="demo",
             url="http://127.0.0.1:4100", token_required=False, started_at=0.0)
    d.update(kw)
    return GatewayRecord(**d)


def test_gateway_gives_one_base_url_for_every_slot():
    from tierdeck.core.clients import gateway_clients

    prof = load_profile("rtx3090ti-qwen3.6-35b-a3b")
    gc = gateway_clients(prof, gateway_record(profile=prof.name))
    assert gc.env == {
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:4100",
        "ANTHROPIC_AUTH_TOKEN": "none",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "local-haiku",
        "CLAUDE_CODE_SUBAGENT_MODEL": "local-haiku",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "local-sonnet",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-7",  # the gateway proxies it
    }
    assert gc.openai_base_url == "http://127.0.0.1:4100/v1"
    assert {e["model_name"]: e["litellm_params"]["api_base"] for e in gc.litellm} == {
        "local-haiku": "http://127.0.0.1:4100", "local-sonnet": "http://127.0.0.1:4100",
        "claude-opus-4-7": "http://127.0.0.1:4100"}
    assert gc.notes == []
    out = subprocess.run(["bash", "-c", gc.render("openai") + 'echo "$OPENAI_BASE_URL"'],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "http://127.0.0.1:4100/v1"


def test_gateway_not_running_or_other_profile_says_so():
    from tierdeck.core.clients import GATEWAY_URL, gateway_clients

    prof = load_profile("demo")
    gc = gateway_clients(prof)
    assert gc.url == GATEWAY_URL and not gc.running
    assert any("tierdeck gateway demo" in n for n in gc.notes)
    gc = gateway_clients(prof, gateway_record(profile="other"))
    assert any("serves profile other" in n for n in gc.notes)


def test_gateway_token_is_referenced_never_printed():
    """A token-protected gateway: every format names the variable holding the token."""
    from tierdeck.core.clients import gateway_clients
    from tierdeck.core.gateway.control import TOKEN_ENV

    prof = load_profile("demo")
    gc = gateway_clients(prof, gateway_record(host="0.0.0.0", url="http://192.168.7.2:4100",
                                              token_required=True))
    script = gc.render("shell") + gc.render("openai") + \
        'echo "$ANTHROPIC_AUTH_TOKEN|$OPENAI_API_KEY"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", TOKEN_ENV: "s3cret"}).stdout
    assert out.strip() == "s3cret|s3cret"
    assert f"ANTHROPIC_AUTH_TOKEN=${{{TOKEN_ENV}}}" in gc.render("dotenv")
    assert json.loads(gc.render("json"))["env"]["ANTHROPIC_AUTH_TOKEN"] == f"${{{TOKEN_ENV}}}"
    assert f"api_key: os.environ/{TOKEN_ENV}" in gc.render("litellm")
    assert any(TOKEN_ENV in n for n in gc.notes)
