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
