"""Marks in a launched server's environment, so TierDeck finds its own servers without a registry.

Every llama-server TierDeck starts carries four environment variables: the registry folder
it belongs to, its registry key ("profile/tier"), the id of that launch and the pid of the
TierDeck process that launched it. They survive
anything that happens to TierDeck or to the registry file, and psutil reads them back. A
process is ours only when its registry folder is the one we use: another TierDeck home (a
second user setup, a test run) and servers nobody marked are never touched.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

ENV_REGISTRY = "TIERDECK_REGISTRY"
ENV_KEY = "TIERDECK_SERVER_KEY"
ENV_LAUNCH = "TIERDECK_LAUNCH_ID"
ENV_OWNER = "TIERDECK_OWNER_PID"


def new_launch_id() -> str:
    return uuid.uuid4().hex


def mark_env(registry_folder: Path, key: str, launch_id: str,
             owner_pid: int | None = None) -> dict[str, str]:
    return {ENV_REGISTRY: _norm(registry_folder), ENV_KEY: key, ENV_LAUNCH: launch_id,
            ENV_OWNER: str(owner_pid if owner_pid is not None else os.getpid())}


@dataclass(frozen=True)
class Marked:
    pid: int
    create_time: float
    key: str
    launch_id: str
    owner_pid: int = 0


def find_marked(registry_folder: Path) -> list[Marked]:
    """Live processes of this user that carry our registry folder's mark."""
    want = _norm(registry_folder)
    me = os.getuid() if hasattr(os, "getuid") else None
    out: list[Marked] = []
    for p in psutil.process_iter(["uids"]):
        if p.pid == os.getpid():
            continue  # a TierDeck started from a server's environment is still not a server
        try:
            if me is not None and p.info["uids"] is not None and p.info["uids"].real != me:
                continue  # another user's environment is not readable, and not ours anyway
            env = p.environ()
            if env.get(ENV_REGISTRY) != want:
                continue
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            owner = env.get(ENV_OWNER, "")
            out.append(Marked(p.pid, p.create_time(), env.get(ENV_KEY, ""),
                              env.get(ENV_LAUNCH, ""), int(owner) if owner.isdigit() else 0))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # gone while we looked, or not ours to read
    return out


def _norm(folder: Path) -> str:
    return os.path.normcase(str(Path(folder).resolve()))
