"""Shared fixtures: isolated user folders, a real llama-server, a generated tiny model.

Every process the suite starts inherits TIERDECK_TEST_SESSION; at the end, any llama-server
still carrying it is a leak: it is killed and the session fails.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psutil
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SESSION_MARK = uuid.uuid4().hex
os.environ["TIERDECK_TEST_SESSION"] = SESSION_MARK


@pytest.fixture(autouse=True)
def tierdeck_home(tmp_path_factory, monkeypatch) -> Path:
    """Each test gets its own config/state/log folders: nothing touches the real user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TIERDECK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def llama_server_bin() -> Path:
    from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server

    try:
        return find_llama_server().path
    except LlamaServerNotFound as e:
        pytest.fail(f"the test command installs llama-server (make test); {e}")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from tierdeck.core.tinymodel import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny.gguf")


def _leaked_servers() -> list[psutil.Process]:
    leaked = []
    for p in psutil.process_iter(["name"]):
        try:
            if p.info["name"] != "llama-server" and "llama-server" not in p.info["name"]:
                continue
            if p.environ().get("TIERDECK_TEST_SESSION") == SESSION_MARK:
                leaked.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return leaked


@pytest.fixture(scope="session", autouse=True)
def no_orphaned_servers():
    yield
    leaked = _leaked_servers()
    for p in leaked:
        try:
            p.kill()
        except psutil.Error:
            pass
    assert not leaked, f"llama-server processes left running by the tests: {[p.pid for p in leaked]}"
