"""Targets for the servers the supervisor registry lists (what `tierdeck top` watches).

Reads the registry file only: no Supervisor, no monitor thread, nothing started or adopted.
"""

from __future__ import annotations

import contextlib

from tierdeck.core.metrics.target import Target


def registry_targets() -> list[Target]:
    from tierdeck.core.servers.registry import Registry, process_matches  # noqa: PLC0415
    from tierdeck.core.servers.urls import base_url  # noqa: PLC0415

    entries = list(Registry().read().values())
    tiers = [e.tier for e in entries]
    out = []
    for e in entries:
        if e.state == "stopping" or process_matches(e.pid, e.create_time) is None:
            continue
        # The same tier name in two profiles at once: keep rows apart.
        name = e.tier if tiers.count(e.tier) == 1 else f"{e.profile}/{e.tier}"
        out.append(Target(
            name=name,
            base_url=base_url(e.host, e.port),
            pid=e.pid,
            api_key=_api_key(e) if e.api_key_set else None,
            planned_bytes=e.planned_bytes,
        ))
    return out


def _api_key(e) -> str | None:
    """The key lives in the profile, not in the registry (which other users may read)."""
    if not e.profile_path:
        return None
    with contextlib.suppress(Exception):
        from tierdeck.core.profiles import load_profile  # noqa: PLC0415

        return load_profile(e.profile_path).tiers[e.tier].api_key
    return None
