"""llama.cpp RPC hosts as plan devices, and the rpc-server command that serves one.

An rpc-server (llama.cpp built with -DGGML_RPC=ON) offers one machine's backend (its CPU or
GPU) to a llama-server elsewhere, which lists it with `--rpc host:port`. The protocol has no
authentication and no encryption: anyone who reaches the port can use the memory and read
the tensors. So the default is loopback, and anything else is the user's explicit choice.

Checked against b11434: the binary is `ggml-rpc-server` (older builds: `rpc-server`) beside
llama-server; flags -H/--host (default 127.0.0.1), -p/--port (default 50052), -t/--threads,
-d/--device, -c/--cache. It offers its device's real memory (older builds took -m MiB), so a
plan passes --tensor-split explicitly rather than leave the split to what each host reports.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tierdeck.core.hardware.device import Device
from tierdeck.core.servers.urls import is_loopback  # noqa: F401 - the one rule; cli and gui import it here

RPC_SERVER_NAMES = ("ggml-rpc-server", "rpc-server")
DEFAULT_PORT = 50052
WARNING = ("llama.cpp RPC is unauthenticated and unencrypted: whoever reaches the port can use "
           "this machine's memory and read the model. Keep it on loopback or a network you trust.")


def find_rpc_server(llama_server: Path) -> Path | None:
    """The rpc-server that sits beside this llama-server, if the build has one."""
    for name in RPC_SERVER_NAMES:
        p = Path(llama_server).with_name(name + Path(llama_server).suffix)
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def help_flags(binary: Path, timeout: float = 10.0) -> set[str]:
    """Flags this rpc-server build accepts (its --help), to keep argv valid across versions."""
    try:
        out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    text = (out.stdout or "") + (out.stderr or "")
    return {w.rstrip(",") for line in text.splitlines() for w in line.split() if w.startswith("-")}


def rpc_server_command(binary: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                       threads: int | None = None, cache: bool = False, device: str | None = None,
                       memory_bytes: int | None = None, flags: set[str] | None = None) -> list[str]:
    """argv for one rpc-server; flags: from help_flags() (None: assume this build's set)."""
    flags = flags if flags is not None else {"-H", "-p", "-t", "-d", "-c"}
    argv = [str(binary), "-H", host, "-p", str(port)]
    if threads:
        argv += ["-t", str(threads)]
    if device and "-d" in flags:
        argv += ["-d", device]
    if cache and "-c" in flags:
        argv.append("-c")
    if memory_bytes and "-m" in flags:  # builds before the device-memory report took -m MiB
        argv += ["-m", str(memory_bytes // (1024 * 1024))]
    return argv


def rpc_device(endpoint: str, memory_bytes: int | None, index: int = 0) -> Device:
    """A plan device for an RPC host offering memory_bytes (0 when unknown: nothing fits there)."""
    b = int(memory_bytes or 0)
    notes = [WARNING] + ([] if memory_bytes else ["memory not given: set rpc: memory: in the profile"])
    return Device(index=index, kind="rpc", name=endpoint, total_bytes=b, free_bytes=b, budget_bytes=b,
                  reserve_bytes=0, source="profile rpc:", notes=notes)
