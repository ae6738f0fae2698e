"""A detached gateway: started as its own process, found through gateway.json, stopped."""

from __future__ import annotations

import httpx
import psutil

from tests.core.servers.conftest import make_profile
from tierdeck.core.gateway.control import read_gateway, record_path, start_detached, stop_gateway
from tierdeck.core.servers.supervisor import free_port


def test_start_find_and_stop_a_detached_gateway(tmp_path):
    prof = make_profile(tmp_path, {"haiku": {"model": "builtin:demo"}}, name="det")
    assert read_gateway() is None and stop_gateway() is False
    port = free_port()
    rec = start_detached(str(prof.path), port=port, token="tok-123")
    try:
        assert rec.port == port and rec.profile == "det" and rec.token_required
        assert read_gateway() == rec
        p = psutil.Process(rec.pid)
        assert "tok-123" not in " ".join(p.cmdline())  # the token stays out of `ps`
        assert httpx.get(f"{rec.url}/health", timeout=5).status_code == 200
        doc = httpx.get(f"{rec.url}/tierdeck/status", headers={"x-api-key": "tok-123"},
                        timeout=5).json()
        assert doc["profile"] == "det" and doc["url"] == rec.url
        assert start_detached(str(prof.path), port=port) == rec  # already running: found
    finally:
        assert stop_gateway() is True
    assert not psutil.pid_exists(rec.pid) or psutil.Process(rec.pid).status() == "zombie"
    assert read_gateway() is None and not record_path().exists()


def test_a_stale_record_reads_as_none(tmp_path):
    from tierdeck.core.gateway.control import GatewayRecord, write_record

    write_record(GatewayRecord(pid=psutil.Process().pid, create_time=1.0, host="127.0.0.1",
                               port=1, profile="x", url="http://127.0.0.1:1",
                               token_required=False, started_at=1.0))
    assert read_gateway() is None  # our pid, but another process's create_time
