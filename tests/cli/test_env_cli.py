"""`tierdeck env`: the gateway's settings by default, a tier's own server with --direct."""

import json

from tests.core.gateway.standin import write_gateway_json
from tierdeck.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_env_follows_the_running_gateway(capsys):
    write_gateway_json("http://127.0.0.1:4555", profile="demo")
    rc, out, err = run(capsys, "env", "--format", "json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["profile"] == "demo" and d["running"] is True
    assert d["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4555"
    assert d["openai"]["base_url"] == "http://127.0.0.1:4555/v1"
    assert d["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "demo-sonnet"
    rc, out, _ = run(capsys, "env", "haiku", "--format", "litellm")
    assert out.count("model_name:") == 1 and "model_name: demo-haiku" in out
    rc, out, _ = run(capsys, "env", "--format", "openai")
    assert out == "export OPENAI_BASE_URL=http://127.0.0.1:4555/v1\nexport OPENAI_API_KEY=none\n"


def test_env_without_gateway_and_direct(capsys):
    rc, out, _ = run(capsys, "env", "--profile", "demo")
    assert rc == 0 and "export ANTHROPIC_BASE_URL=http://127.0.0.1:4000" in out
    assert "# the gateway is not running" in out
    rc, out, _ = run(capsys, "env", "haiku", "--profile", "demo", "--direct")
    assert rc == 0 and "ANTHROPIC_BASE_URL=http://127.0.0.1:" in out and ":4000" not in out
    rc, _, err = run(capsys, "env", "--direct", "--profile", "demo")
    assert rc == 2 and "--direct needs a tier" in err
    rc, _, err = run(capsys, "env", "nope", "--profile", "demo")
    assert rc == 2 and "no tier named 'nope'" in err
