"""What one device-monitor refresh costs: a long-lived HardwareSession against the old way
(a fresh detection, i.e. NVML opened and closed, each refresh), and what the engine's device
list costs asked fresh vs read from its cache.

    PYTHONPATH=app .venv/bin/python bench/hardware_bench.py

On a machine without an NVIDIA driver NVML fails to load in microseconds, so the two refresh
figures are close; on a GPU without persistence mode nvmlInit costs on the order of seconds
(the reason for the shared session), which this machine cannot show.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 50


def _ms(fn, rounds: int = ROUNDS) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def main() -> int:
    os.environ["TIERDECK_HOME"] = tempfile.mkdtemp(prefix="tierdeck-hwbench-")
    from tierdeck.core.hardware import HardwareSession, detect_devices  # noqa: PLC0415
    from tierdeck.core.hardware.engine_view import read_engine_view  # noqa: PLC0415
    from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server  # noqa: PLC0415

    try:
        binary = Path(find_llama_server().path)
    except LlamaServerNotFound:
        print("no llama-server: engine-view figures skipped", file=sys.stderr)
        binary = None
    if binary is not None:
        cache = Path(tempfile.mkdtemp(prefix="tierdeck-hwbench-cache-"))
        fresh = _ms(lambda: read_engine_view(binary, os.environ, cache_dir=cache, refresh=True), 10)
        cached = _ms(lambda: read_engine_view(binary, os.environ, cache_dir=cache))
        print(f"engine view ({binary.name} --list-devices): fresh median {fresh[0]:.2f} ms "
              f"(max {fresh[1]:.2f}), cached median {cached[0]:.3f} ms (max {cached[1]:.3f})")
    detect_devices()  # warm the engine-view cache, as the first refresh of a window does
    oneshot = _ms(lambda: detect_devices())
    with HardwareSession() as s:
        s.detect()
        session = _ms(lambda: s.detect())
    print(f"refresh, fresh detection each time: median {oneshot[0]:.2f} ms (max {oneshot[1]:.2f})")
    print(f"refresh, one long-lived session:    median {session[0]:.2f} ms (max {session[1]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
