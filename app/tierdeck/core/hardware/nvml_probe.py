"""Is NVML safe to load in this process? Asked in a child process first where it may crash.

On WSL2, NVML (libnvidia-ml through /usr/lib/wsl/lib) has been reported to segfault; a
segfault in-process would take the whole app down, so on WSL the first nvmlInit happens in a
short-lived child. Elsewhere the check is skipped: loading NVML is the normal path there.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Runner = Callable[[list[str]], tuple[int, str]]


def child_main() -> int:
    """What the probe process runs: load NVML and touch every device's memory once."""
    import pynvml  # noqa: PLC0415 - only in the child

    pynvml.nvmlInit()
    n = pynvml.nvmlDeviceGetCount()
    for i in range(n):
        pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i))
    pynvml.nvmlShutdown()
    print(n)
    return 0


def child_argv() -> list[str]:
    # A PyInstaller bundle's executable is the app itself, not a Python that takes -c.
    if getattr(sys, "frozen", False):
        return [sys.executable, "detect", "--nvml-probe"]
    return [sys.executable, "-c", "from tierdeck.core.hardware.nvml_probe import child_main; "
            "raise SystemExit(child_main())"]


def is_wsl(osrelease: Path = Path("/proc/sys/kernel/osrelease")) -> bool:
    try:
        text = osrelease.read_text().lower()
    except OSError:
        return False
    return "microsoft" in text or "wsl" in text


def _run(argv: list[str]) -> tuple[int, str]:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                       stdin=subprocess.DEVNULL)
    return p.returncode, (p.stderr or p.stdout).strip()


def probe_in_child(argv: list[str] | None = None, runner: Runner = _run) -> str | None:
    """None when NVML initialised and read memory in a child; else why it is not safe."""
    try:
        code, text = runner(argv or child_argv())
    except subprocess.TimeoutExpired:
        return "NVML probe did not answer in 30 s: NVML not loaded in the app"
    except OSError as e:
        return f"NVML probe could not start: {e}"
    if code < 0:
        from tierdeck.core.servers.classify import describe_exit  # noqa: PLC0415

        return (f"NVML crashed a probe process ({describe_exit(code)}): not loaded in the app "
                "(WSL2 driver issue?)")
    if code != 0:
        last = text.splitlines()[-1] if text else f"exit {code}"
        return f"NVML unavailable (probe: {last[:200]})"
    return None
