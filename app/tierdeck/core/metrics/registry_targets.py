"""Targets for the servers the supervisor registry lists (what `tierdeck top` watches).

Reads the registry file only: no Supervisor, no monitor thread, nothing started or adopted.
"""

from __future__ import annotations

import logging

from tierdeck.core.metrics.target import Target

log = logging.getLogger(__name__)


def registry_targets() -> list[Target]:
    from tierdeck.core.servers.registry import Registry, process_matches  # noqa: PLC0415
    from tierdeck.core.servers.urls import base_url  # noqa: PLC0415

    entries = list(Registry().read().values())
    tiers = [e.tier for e in entries]
    out = []
    for e in entries:
        # launching: no pid yet; stopping: on its way out. Neither is worth a scrape.
        if e.state != "running" or process_matches(e.pid, e.create_time) is None:
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
    from tierdeck.core.profiles import ProfileError, load_profile  # noqa: PLC0415

    try:
        return load_profile(e.profile_path).tiers[e.tier].api_key
    except (ProfileError, OSError, KeyError) as err:  # edited or moved since it started
        log.warning("%s/%s: no API key from %s: %s", e.profile, e.tier, e.profile_path, err)
        return None
