"""Start a real llama-server on the tiny model for metrics tests, and always stop it."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    proc: subprocess.Popen
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def start_server(binary: Path, model: Path, log: Path, *extra: str, timeout_s: float = 60) -> RunningServer:
    port = free_port()
    argv = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
            "--metrics", "-t", "1", "-np", "2", "-c", "4096", "--no-webui", *extra]
    with log.open("wb") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    srv = RunningServer(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(srv.url + "/health", timeout=1).status_code == 200:
                    return srv
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server not healthy in {timeout_s}s: {log.read_text()[-2000:]}")
            time.sleep(0.05)
    except BaseException:
        srv.kill()
        raise
