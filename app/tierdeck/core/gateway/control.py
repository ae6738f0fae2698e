"""Find the running gateway: its record in the state folder, checked against the live process.

Placeholder for the branch that builds the usage ledger, clients and window pieces: only
read_gateway() and GatewayRecord, the names that code depends on. The gateway branch's
control module (start_detached, stop_gateway, ...) replaces this file at merge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from tierdeck.core.paths import app_dirs
from tierdeck.core.servers.registry import process_matches


@dataclass
class GatewayRecord:
    pid: int
    create_time: float
    host: str
    port: int
    profile: str
    url: str
    token_required: bool
    started_at: float


def read_gateway() -> GatewayRecord | None:
    """The gateway recorded in gateway.json if its process is still that process, else None."""
    path = app_dirs().state / "gateway.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # a torn or foreign file describes no gateway we can reach
    if not isinstance(raw, dict):
        return None
    try:
        rec = GatewayRecord(**{f.name: raw[f.name] for f in fields(GatewayRecord)})
    except (KeyError, TypeError):
        return None
    if process_matches(int(rec.pid), float(rec.create_time)) is None:
        return None
    return rec
