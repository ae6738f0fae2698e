"""Start a real llama-server at -lv 4 just long enough to read its memory lines, then stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tierdeck.core.servers.memlog import LoadedMemory, MemoryLogParser


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process's group (started with start_new_session), SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_memory(binary: Path, model: Path, args: list[str], log: Path, timeout: float = 90) -> tuple[LoadedMemory, str]:
    """Run llama-server until it has reserved its buffers (or exits); return the parsed lines."""
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(free_port()),
           "-lv", "4", "-t", "1", "--fit", "off", "--no-webui", *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "n_ctx_slot" in text or "listening on" in text or proc.poll() is not None:
                break
            time.sleep(0.05)
        else:
            raise TimeoutError(f"llama-server did not finish loading in {timeout}s: {' '.join(cmd)}")
    finally:
        stop_group(proc)
    text = log.read_text(errors="replace")
    parser = MemoryLogParser()
    parser.feed_text(text)
    if not parser.result.complete:
        raise AssertionError(f"no memory lines in the log of {' '.join(cmd)}:\n{text[-3000:]}")
    return parser.result, text


def fit_params(binary: Path, model: Path, args: list[str]) -> dict[str, list[int]]:
    """llama-fit-params --fit-print on: {device: [model, context, compute]} in MiB (rounded down)."""
    fp = binary.with_name("llama-fit-params")
    p = subprocess.run([str(fp), "-m", str(model), "-t", "1", "--fit-print", "on", *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and all(x.isdigit() for x in parts[1:]):
            rows[parts[0]] = [int(x) for x in parts[1:]]
    return rows
