"""`tierdeck gateway` in the foreground, and status/up/down on a shared engine."""

import json
import os
import signal
import subprocess
import sys

import httpx
import psutil
import pytest

from tests.cli.test_servers_cli import cli_env, run  # noqa: F401 - fixture
from tests.core.gateway.conftest import shared_profile
from tierdeck.core.gateway.control import read_gateway
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.supervisor import free_port


def test_status_json_one_entry_per_tier_same_pid(capsys, tmp_path, tiny_model, cli_env):  # noqa: F811
    prof = shared_profile(tmp_path, tiny_model)
    rc, out, err = run(capsys, "up", str(prof.path), "sonnet")
    assert rc == 0, err
    assert "haiku+sonnet: ready" in out
    rc, out, _ = run(capsys, "status", "--json")
    rows = {r["tier"]: r for r in json.loads(out)}
    assert set(rows) == {"haiku", "sonnet"}
    assert rows["haiku"]["pid"] == rows["sonnet"]["pid"] and rows["haiku"]["pid"]
    assert rows["haiku"]["engine"] == "haiku+sonnet" and rows["haiku"]["shared_with"] == ["sonnet"]
    rc, out, _ = run(capsys, "switch", "haiku", "--profile", str(prof.path))
    assert rc == 0 and "haiku+sonnet already" in out
    rc, out, _ = run(capsys, "status", "--json")
    assert {r["pid"] for r in json.loads(out)} == {rows["haiku"]["pid"]}  # no reload
    rc, out, _ = run(capsys, "down", "haiku")
    assert rc == 0 and "stopping it stops sonnet too" in out
    rc, out, _ = run(capsys, "status", "--json")
    assert all(r["state"] == "stopped" for r in json.loads(out))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_gateway_foreground_prints_url_and_stops_cleanly(tmp_path, tiny_model, tierdeck_home, sig):
    prof = shared_profile(tmp_path, tiny_model)
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "tierdeck", "gateway", str(prof.path),
                          "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "TIERDECK_HOME": str(tierdeck_home)})
    try:
        line = p.stdout.readline()
        assert f"on http://127.0.0.1:{port}" in line, line + p.stderr.read()
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        rec = read_gateway()
        assert rec is not None and rec.pid == p.pid and rec.port == port
        p.send_signal(sig)
        assert p.wait(15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert read_gateway() is None


def test_open_bind_without_token_is_refused(capsys, tmp_path, tiny_model):
    prof = shared_profile(tmp_path, tiny_model)
    rc, _, err = run(capsys, "gateway", str(prof.path), "--host", "0.0.0.0", "--port", "0")
    assert rc == 2 and "token" in err and err.count("\n") == 1


def test_gateway_stop_tiers_leaves_nothing_running(tmp_path, tiny_model, tierdeck_home, cli_env):  # noqa: F811
    prof = shared_profile(tmp_path, tiny_model)
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "tierdeck", "gateway", str(prof.path),
                          "--port", str(port), "--stop-tiers"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "TIERDECK_HOME": str(tierdeck_home)})
    try:
        assert f"on http://127.0.0.1:{port}" in p.stdout.readline()
        p.stdout.readline()  # the API line
        assert "stops the gateway and the profile's servers" in p.stdout.readline()
        r = httpx.post(f"http://127.0.0.1:{port}/v1/messages", timeout=120, json={
            "model": "haiku", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
        pids = [e.pid for e in Registry().read().values()]
        assert len(pids) == 1 and pids[0]
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert Registry().read() == {}  # the engine it started was stopped, not left for later
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
