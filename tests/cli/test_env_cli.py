"""`tierdeck env`: the gateway's settings by default, a tier's own server with --direct."""

import json

from tests.cli.test_servers_cli import cli_env  # noqa: F401 - fixture
from tests.core.gateway.conftest import shared_profile
from tests.core.gateway.standin import write_gateway_json
from tierdeck.cli import main
from tierdeck.core.servers.registry import Registry


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


def test_env_direct_for_a_tier_of_a_shared_engine_gives_the_engines_port(
        capsys, tmp_path, tiny_model, cli_env):  # noqa: F811
    prof = shared_profile(tmp_path, tiny_model, scratch=False)
    rc, _, err = run(capsys, "up", str(prof.path), "haiku")
    assert rc == 0, err
    (engine,) = Registry().read().values()
    assert engine.tier == "haiku+sonnet" and engine.port
    for tier in ("haiku", "sonnet"):
        rc, out, err = run(capsys, "env", tier, "--direct", "--format", "json")
        assert rc == 0, err
        assert json.loads(out)["env"]["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{engine.port}"
