"""The gateway's JSON documents: /tierdeck/status and /v1/models."""

from __future__ import annotations

import time


def status_doc(gw) -> dict:
    prof = gw.profile
    tiers = {}
    in_flight = queued = 0
    for name, t in prof.tiers.items():
        if t.is_remote:
            tiers[name] = {"kind": "remote", "engine": name, "shared_with": [],
                           "state": "remote", "pid": None, "in_flight": 0, "queued": 0,
                           "requests": gw.requests.get(name, 0)}
            continue
        engine = prof.engine_of(name)
        es = gw.engines.state(engine) if gw.engines is not None else None
        gate = gw.gates[engine]
        members = prof.engines[engine].members if engine in prof.engines else [name]
        fl, q = gate.in_flight.get(name, 0), gate.queued(name)
        tiers[name] = {
            "kind": "local", "engine": engine, "shared_with": [m for m in members if m != name],
            "state": es.state if es else "stopped", "pid": es.pid if es else None,
            "in_flight": fl, "queued": q, "requests": gw.requests.get(name, 0),
        }
    for gate in gw.gates.values():
        in_flight += gate.busy()
        queued += gate.queued()
    return {"url": gw.url, "profile": prof.name, "started_at": gw.started_at,
            "requests_total": gw.requests_total, "in_flight": in_flight, "queued": queued,
            "tiers": tiers}


def models_doc(gw) -> dict:
    """One list both SDKs read: OpenAI's (object/owned_by) and Anthropic's (type/display_name)."""
    created = int(gw.started_at)
    data = []
    for name, t in gw.profile.tiers.items():
        for mid in dict.fromkeys([t.alias or name, name]):
            data.append({"id": mid, "object": "model", "type": "model", "created": created,
                         "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                         "display_name": f"{name} ({'remote' if t.is_remote else 'local'})",
                         "owned_by": "tierdeck"})
    return {"object": "list", "data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}
