"""`tierdeck ask` through a running gateway: a detached `tierdeck gateway` (the real process,
its real SQLite ledger) starts the stopped tier's shared engine on demand, applies the tier,
and counts the request, which `tierdeck usage --json` then shows."""

from __future__ import annotations

import json

from tests.cli.test_servers_cli import cli_env, run  # noqa: F401 - the fixture
from tests.core.gateway.conftest import shared_profile
from tierdeck.core.gateway.control import start_detached, stop_gateway
from tierdeck.core.servers.supervisor import free_port


def test_ask_goes_through_the_gateway_which_starts_the_engine_and_counts_it(
        capsys, cli_env, tmp_path, tiny_model):  # noqa: F811
    prof = shared_profile(tmp_path, tiny_model, scratch=False)
    rec = start_detached(str(prof.path), port=free_port())
    try:
        # Nothing runs yet: without a gateway this would be "haiku is not running".
        rc, out, err = run(capsys, "ask", "haiku", "hello", "--profile", str(prof.path),
                           "--max-tokens", "8", "--temperature", "0")
        assert rc == 0, err
        assert f"[haiku via the gateway {rec.url}]" in err
        rc, out, err = run(capsys, "status", "--json")
        rows = {r["tier"]: r for r in json.loads(out) if r.get("profile") == "gw"}
        assert rows["haiku"]["state"] == "ready" and rows["haiku"]["pid"] == rows["sonnet"]["pid"]
    finally:
        assert stop_gateway() is True
    rc, out, err = run(capsys, "usage", "--json", "--profile", str(prof.path))
    assert rc == 0, err
    haiku = json.loads(out)["tiers"]["haiku"]
    assert haiku["requests"] == 1 and haiku["output_tokens"] >= 1
    assert haiku["cost_avoided_usd"] > 0  # priced as Haiku, the slot it stands in for
