"""Test helpers: a gateway.json as the gateway writes it, and a stand-in gateway HTTP server.

The stand-in serves only GET /health and GET /tierdeck/status with a status the test sets:
it lets the window's strip, poller and cards be tested before (and apart from) the real
gateway, which its own tests drive against a real llama-server.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs


def write_gateway_json(url: str, profile: str = "demo", pid: int | None = None,
                       token_required: bool = False) -> dict:
    """Record a gateway as running in this process (its pid and create time check out)."""
    pid = os.getpid() if pid is None else pid
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    rec = {"pid": pid, "create_time": psutil.Process(pid).create_time(), "host": host,
           "port": int(port), "profile": profile, "url": url, "token_required": token_required,
           "started_at": time.time()}
    atomic_write_text(app_dirs().state / "gateway.json", json.dumps(rec))
    return rec


def tier_status(engine: str, shared_with: list[str] | None = None, *, in_flight: int = 0,
                queued: int = 0, requests: int = 0, state: str = "ready") -> dict:
    return {"kind": "local", "engine": engine, "shared_with": shared_with or [], "state": state,
            "pid": 4242, "in_flight": in_flight, "queued": queued, "requests": requests}


class StandInGateway:
    """GET /tierdeck/status answers self.status (set it at will); GET /health answers ok."""

    def __init__(self, profile: str = "demo"):
        self.status: dict = {"profile": profile, "started_at": time.time(), "requests_total": 0,
                             "in_flight": 0, "queued": 0, "tiers": {}}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if self.path == "/health":
                    body = b'{"status": "ok"}'
                elif self.path == "/tierdeck/status":
                    outer.hits += 1
                    body = json.dumps({**outer.status, "url": outer.url}).encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def set_tiers(self, tiers: dict) -> None:
        self.status = {**self.status, "tiers": tiers,
                       "requests_total": sum(t["requests"] for t in tiers.values()),
                       "in_flight": sum(t["in_flight"] for t in tiers.values()),
                       "queued": sum(t["queued"] for t in tiers.values())}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
