"""Gateway test helpers: a profile on the tiny model, a gateway on a free port in-process."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.core.servers.conftest import make_profile, supervisors  # noqa: F401 - fixture
from tierdeck.core.gateway.server import GatewayServer


def shared_profile(folder, model, haiku=None, sonnet=None, scratch=True, **defaults):
    """haiku + sonnet share one engine (Qwen3-style template); scratch swaps with it."""
    d = {"model": str(model), "threads": 1, "flash_attn": "off", "stop_timeout_s": 10,
         "chat_template_file": "builtin:qwen3-thinking", **defaults}
    tiers = {"haiku": {"thinking": False, "parallel": 2, "ctx_per_slot": 1024, **(haiku or {})},
             "sonnet": {"thinking": True, "ctx_per_slot": 1024, **(sonnet or {})}}
    groups = [{"mode": "shared", "tiers": ["haiku", "sonnet"]}]
    if scratch:
        tiers["scratch"] = {"slot": "none", "ctx_per_slot": 512}
        groups.append({"mode": "swap", "tiers": ["haiku", "scratch"], "default": "haiku"})
    return make_profile(folder, tiers, groups=groups, name="gw", defaults=d)


class Ledger:
    """Stands in for the usage ledger: keeps what the gateway records."""

    def __init__(self):
        self.rows = []

    def record(self, rec) -> None:
        self.rows.append(rec)


@pytest.fixture
def gateway(supervisors, llama_server_bin):  # noqa: F811
    made = []

    def make(profile, **kw) -> GatewayServer:
        sup = supervisors(binary=llama_server_bin)
        kw.setdefault("ledger", Ledger())
        srv = GatewayServer(profile, port=0, supervisor=sup, record=False, **kw).start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


def wait_until(cond, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def status(srv) -> dict:
    return httpx.get(f"{srv.url}/tierdeck/status", timeout=5).json()


def sse_lines(raw: bytes) -> list[str]:
    """SSE lines split on newlines only: gibberish model text may hold U+2028 or NEL, which
    str.splitlines (and so httpx's iter_lines) also break on."""
    return [x.decode() for x in raw.split(b"\n")]
