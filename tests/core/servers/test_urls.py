"""One loopback rule for the gateway's open-bind check and the RPC hosts' warnings."""

import pytest

from tierdeck.core.gateway.server import is_loopback as gateway_rule
from tierdeck.core.planner.rpc import is_loopback as rpc_rule
from tierdeck.core.profiles.schema import RpcHost
from tierdeck.core.servers.urls import is_loopback


@pytest.mark.parametrize("host, expected", [
    ("localhost", True), ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True),
    ("0:0:0:0:0:0:0:1", True),  # ::1 written out: the RPC rule missed it
    ("127.example.com", False),  # a name, not an address: the RPC rule took it for loopback
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("", False),
])
def test_one_loopback_rule(host, expected):
    assert is_loopback(host) is expected
    assert gateway_rule(host) is expected and rpc_rule(host) is expected
    assert RpcHost(host, 50052).loopback is expected
