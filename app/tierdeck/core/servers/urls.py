"""The URL a client uses to reach a server bound to a given host."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Only this machine can reach it: localhost, 127.0.0.0/8, ::1 (by address, not by prefix:
    a host name that starts with "127." is not loopback). The one rule for the gateway's open
    bind check and the RPC hosts' warnings."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_host(host: str) -> str:
    """A wildcard bind is reached through loopback; IPv6 literals need brackets in URLs."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int | None) -> str:
    return f"http://{connect_host(host)}:{port}"
