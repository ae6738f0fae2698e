from __future__ import annotations

import socket

import pytest

from tests.core.metrics.llama import start_server


@pytest.fixture
def llama(llama_server_bin, tiny_model, tmp_path):
    """start() a real llama-server (--metrics, 2 slots, 1 thread); all are killed at the end."""
    started = []

    def start(*extra: str):
        srv = start_server(llama_server_bin, tiny_model, tmp_path / f"server{len(started)}.log", *extra)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.kill()


@pytest.fixture
def hung_port():
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]
