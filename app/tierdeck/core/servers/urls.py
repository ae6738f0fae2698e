"""The URL a client uses to reach a server bound to a given host."""

from __future__ import annotations


def connect_host(host: str) -> str:
    """A wildcard bind is reached through loopback; IPv6 literals need brackets in URLs."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int | None) -> str:
    return f"http://{connect_host(host)}:{port}"
