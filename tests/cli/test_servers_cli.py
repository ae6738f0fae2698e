"""`tierdeck up/switch/status/env/logs/down/profiles` end to end on the tiny model."""

import json

import httpx
import psutil
import pytest

from tests.core.servers.conftest import make_profile, tiny_tier
from tierdeck.cli import main
from tierdeck.core.paths import app_dirs
from tierdeck.core.servers.registry import Registry


@pytest.fixture
def cli_env(monkeypatch, llama_server_bin):
    monkeypatch.setenv("LLAMA_SERVER", str(llama_server_bin))
    yield
    main(["down", "--all"])
    for e in Registry().read().values():  # belt and braces: never leak a server
        try:
            psutil.Process(e.pid).kill()
        except psutil.Error:
            pass


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_profiles_list_and_check(capsys, tmp_path):
    rc, out, _ = run(capsys, "profiles")
    assert "demo" in out and "rtx3090ti-qwen3.6-35b-a3b" in out
    assert "warning: " in out and "model file not found" in out  # listable all the same
    assert rc == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers:\n  a:\n    model: builtin:demo\n    paralel: 2\n")
    rc, _, err = run(capsys, "profiles", str(bad))
    assert rc == 2 and f"{bad}:4: tiers.a.paralel: unknown key" in err
    rc, out, _ = run(capsys, "profiles", "--json")
    assert {p["name"] for p in json.loads(out)} >= {"demo"}


def test_up_missing_model_is_one_clear_line(capsys, tmp_path, cli_env):
    make_profile(tmp_path, {"x": tiny_tier(tmp_path / "nope.gguf")})
    rc, _, err = run(capsys, "up", str(tmp_path / "t.yaml"))
    assert rc == 2
    assert err.count("\n") == 1 and "tiers.x.model: model file not found" in err
    assert "Traceback" not in err


def test_lifecycle(capsys, tmp_path, tiny_model, cli_env):
    make_profile(tmp_path, {
        "haiku": tiny_tier(tiny_model, alias="tiny-haiku", parallel=2),
        "sonnet": tiny_tier(tiny_model, alias="tiny-sonnet"),
        "opus": {"kind": "remote", "model": "claude-opus-4-7"},
    }, groups=[{"mode": "swap", "tiers": ["haiku", "sonnet"]}])
    prof = str(tmp_path / "t.yaml")

    rc, out, err = run(capsys, "up", prof)
    assert rc == 0, err
    assert "[haiku] starting haiku" in out and "haiku: ready at http://127.0.0.1:" in out
    # what the plan was, against what the device offered
    assert "model tiny-haiku (planned " in out and " of " in out and ", loaded " in out

    rc, out, _ = run(capsys, "status", "--json")
    [st] = json.loads(out)
    assert (st["tier"], st["state"], st["alias"]) == ("haiku", "ready", "tiny-haiku")
    assert httpx.get(st["base_url"] + "/health", timeout=5).status_code == 200

    rc, out, _ = run(capsys, "env", "haiku", "--direct", "--format", "dotenv")
    assert f"ANTHROPIC_BASE_URL={st['base_url']}" in out
    assert "ANTHROPIC_DEFAULT_HAIKU_MODEL=tiny-haiku" in out
    rc, out, _ = run(capsys, "env", "opus", "--direct", "--format", "json")
    assert json.loads(out)["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "claude-opus-4-7"
    rc, out, _ = run(capsys, "env", "haiku", "--format", "json")  # through the gateway
    env = json.loads(out)["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4000"
    assert (env["ANTHROPIC_DEFAULT_HAIKU_MODEL"], env["ANTHROPIC_DEFAULT_SONNET_MODEL"],
            env["ANTHROPIC_DEFAULT_OPUS_MODEL"]) == ("tiny-haiku", "tiny-sonnet", "claude-opus-4-7")

    rc, out, _ = run(capsys, "logs", "haiku", "-n", "5")
    assert rc == 0 and out.strip()

    rc, out, err = run(capsys, "switch", "sonnet")  # profile found from the registry
    assert rc == 0, err
    assert "[haiku] stopping haiku" in out and "sonnet: ready at" in out
    rc, out, _ = run(capsys, "status")
    assert "sonnet" in out and "ready" in out and "haiku" not in out

    rc, out, _ = run(capsys, "down", "sonnet")
    assert rc == 0 and "[sonnet] sonnet stopped" in out
    assert Registry().read() == {}
    rc, out, _ = run(capsys, "status")
    assert "no servers running" in out


def test_up_failure_exit_code_and_reason(capsys, tmp_path, tiny_model, cli_env):
    make_profile(tmp_path, {"x": tiny_tier(tiny_model, extra_args=["--no-such-flag"])})
    rc, _, err = run(capsys, "up", str(tmp_path / "t.yaml"))
    assert rc == 1 and "x: failed: bad flag" in err and "log: " in err
    assert str(app_dirs().logs) in err


def test_down_nothing(capsys, cli_env):
    rc, _, err = run(capsys, "down", "haiku")
    assert rc == 2 and "no running server for tier 'haiku'" in err


def test_missing_binary_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LLAMA_SERVER", str(tmp_path / "no-llama-server"))
    rc, _, err = run(capsys, "up", "demo")
    assert rc == 2 and err.count("\n") == 1
    assert "llama-server not found" in err and "LLAMA_SERVER" in err
    assert Registry().read() == {}


def test_logs_follow(tmp_path, tierdeck_home):
    import os
    import subprocess
    import sys

    from tests.core.servers.test_registry_logs import entry

    log = tmp_path / "x.log"
    log.write_text("old line\n")
    Registry().put(entry(tier="x", log_path=str(log)))
    p = subprocess.Popen([sys.executable, "-m", "tierdeck", "logs", "x", "-f"],
                         stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "TIERDECK_HOME": str(tierdeck_home)})
    try:
        assert p.stdout.readline().strip() == "old line"
        with open(log, "a") as f:
            f.write("new line\n")
        assert p.stdout.readline().strip() == "new line"
    finally:
        p.kill()
        p.wait(10)


def test_damaged_settings_file_is_said_not_swallowed(capsys, cli_env):
    from tierdeck.core.settings import Settings

    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text('{"llama_server": "/opt/my/llama-server",')  # cut short
    rc, out, err = run(capsys, "status")
    assert rc == 0 and "no servers running" in out
    assert err.count("warning:") == 1 and "settings.json: cannot read settings" in err
    assert "using default settings" in err


def test_wrong_typed_settings_warn_and_every_command_uses_defaults(capsys, cli_env):
    import argparse

    from tierdeck.cli import plan, top
    from tierdeck.core.metrics.sampler import _reserve_from_settings
    from tierdeck.core.profiles.store import _models_dir
    from tierdeck.core.settings import Settings

    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text('{"reserve_mib": "2048", "sample_interval_s": 5, '
                               '"models_dir": "/somewhere"}')
    # `tierdeck top` and `tierdeck plan` read it through the CLI: said once, defaults used
    assert top._interval(argparse.Namespace(interval=None)) == Settings.sample_interval_s
    dev = plan._detect(argparse.Namespace(reserve_mib=None)).devices
    assert dev and all(d.reserve_bytes == Settings.reserve_mib * 1024 * 1024 for d in dev)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "reserve_mib must be a whole number" in err
    # the core readers fall back to defaults too (and log it), never a crash
    assert _reserve_from_settings() == Settings.reserve_mib * 1024 * 1024
    assert _models_dir() is None
