"""Helpers for supervisor tests: profiles on the tiny model, free ports, guaranteed cleanup."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tierdeck.core.profiles import load_profile_file
from tierdeck.core.servers.process import identify
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.supervisor import Supervisor, free_port

FAKE = Path(__file__).with_name("fake_server.py")


def make_profile(folder: Path, tiers: dict, groups: list | None = None, name: str = "t",
                 defaults: dict | None = None):
    doc = {"name": name, "tiers": tiers}
    if defaults:
        doc["defaults"] = defaults
    if groups:
        doc["groups"] = groups
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(doc, indent=1))  # JSON is YAML
    return load_profile_file(path)


def tiny_tier(model: Path, **kw) -> dict:
    t = {"model": str(model), "threads": 1, "ctx_per_slot": 512, "port": free_port(),
         "flash_attn": "off", "stop_timeout_s": 10}
    t.update(kw)
    return t


def child_env() -> dict:
    """The environment of a TierDeck child process: this checkout's sources on its path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def start_then_kill_9_tierdeck(profile_path: Path, binary: Path) -> int:
    """A TierDeck process (supervise_child.py) starts the profile; once it says "ready" it
    is killed with SIGKILL. Returns the pid of the server it left behind."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("supervise_child.py")), str(profile_path),
         str(binary)], stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        line = child.stdout.readline().strip()
        state, pid = line.split(":")
        assert state == "ready", line
        return int(pid)
    finally:
        child.kill()
        child.wait(10)


@pytest.fixture
def fake_bin(tmp_path) -> Path:
    p = tmp_path / "fake-llama-server"
    p.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def _kill_registered() -> None:
    for e in Registry().read().values():
        p = identify(e.pid, e.create_time)
        if p is None:
            continue
        try:
            os.killpg(e.pid, signal.SIGKILL)
            p.wait(5)
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def supervisors():
    """Make supervisors; at the end every server they (or anyone here) started is stopped."""
    made: list[Supervisor] = []

    def make(**kw) -> Supervisor:
        s = Supervisor(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        try:
            s.down(None)
        except Exception:
            pass
        s.close()
    _kill_registered()
