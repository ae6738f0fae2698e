"""Swap benchmark: the overhead TierDeck adds to a tier swap, on the tiny generated model.

    .venv/bin/python bench/swap_bench.py [--swaps 20]

Two tiers of one swap group alternate. For each swap we time Supervisor.switch() from the
call to "ready" (old server stopped, new one started and /health 200), and read from the
new server's own log how long llama-server took from its first log line to "listening"
(its timestamps, -lv 4). Overhead = the two subtracted: stopping the old server, spawning,
planning, health-poll latency, bookkeeping. Medians are printed.
Runs in a throwaway TIERDECK_HOME; never touches the user's servers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

# A "M.SS.mmm.uuu" elapsed-time prefix (minutes, seconds, ms, us since the log started).
TS = re.compile(r"^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) ")
LISTENING = re.compile(r"server is listening on|listening on http|all slots are idle")


def ts_seconds(line: str) -> float | None:
    m = TS.match(line)
    if not m:
        return None
    mi, s, ms, us = (int(g) for g in m.groups())
    return mi * 60 + s + ms / 1e3 + us / 1e6


def server_start_to_listening(log: Path) -> float | None:
    first = None
    for line in log.read_text(errors="replace").splitlines():
        t = ts_seconds(line)
        if t is None:
            continue
        if first is None:
            first = t
        if LISTENING.search(line):
            return t  # elapsed since the server's log started (its own clock)
    return None


def bare_swaps(argv: list[str], n: int) -> list[float]:
    """The same server started and stopped by hand: what any launcher pays (exec, dynamic
    loading before llama-server's log clock starts, load, exit)."""
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    port = argv[argv.index("--port") + 1]
    url = f"http://127.0.0.1:{port}/health"
    out = []
    prev = None
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), trust_env=False) as c:
        for _ in range(n + 1):
            t0 = time.monotonic()
            if prev is not None:
                prev.send_signal(signal.SIGTERM)
                prev.wait(10)
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if c.get(url, timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
            if prev is not None:
                out.append(time.monotonic() - t0)
            prev = p
        prev.send_signal(signal.SIGTERM)
        prev.wait(10)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swaps", type=int, default=20)
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="tierdeck-swapbench-")
    os.environ["TIERDECK_HOME"] = home
    from tierdeck.core.profiles import load_profile_file  # noqa: PLC0415
    from tierdeck.core.servers.binary import find_llama_server  # noqa: PLC0415
    from tierdeck.core.servers.supervisor import Supervisor, free_port  # noqa: PLC0415
    from tierdeck.core.tinymodel import write_tiny_model  # noqa: PLC0415

    model = write_tiny_model(Path(home) / "tiny.gguf")
    tier = {"model": str(model), "threads": 1, "ctx_per_slot": 512, "flash_attn": "off"}
    doc = {"name": "swapbench",
           "tiers": {"a": {**tier, "port": free_port()}, "b": {**tier, "port": free_port()}},
           "groups": [{"mode": "swap", "tiers": ["a", "b"]}]}
    path = Path(home) / "swapbench.yaml"
    path.write_text(json.dumps(doc))
    profile = load_profile_file(path)
    binary = find_llama_server().path

    sup = Supervisor(binary=binary)
    totals, servers, overheads, stops = [], [], [], []
    try:
        st = sup.up(profile, ["a"])[0]  # warm-up: help-text cache, page cache, first load
        if st.state != "ready":
            print(f"first start failed: {st.reason}", file=sys.stderr)
            return 1
        for i in range(args.swaps):
            target = "b" if i % 2 == 0 else "a"
            stop_t: dict[str, float] = {}
            t0 = time.monotonic()

            def on_step(step, t0=t0, stop_t=stop_t):
                if step.action == "stopped":
                    stop_t["t"] = time.monotonic() - t0

            st = sup.switch(profile, target, on_step=on_step)
            total = time.monotonic() - t0
            if st.state != "ready":
                print(f"swap {i} failed: {st.reason}", file=sys.stderr)
                return 1
            server = server_start_to_listening(Path(st.log_path))
            for _ in range(50):  # llama-server's log thread may write the line just after
                if server is not None:  # /health turned 200: read again (not timed)
                    break
                time.sleep(0.02)
                server = server_start_to_listening(Path(st.log_path))
            if server is None:
                print("could not find the listening line in the server log", file=sys.stderr)
                return 1
            totals.append(total)
            servers.append(server)
            overheads.append(total - server)
            stops.append(stop_t.get("t", 0.0))
    finally:
        sup.down(None)
        sup.close()

    bare = bare_swaps(st.command, args.swaps)

    def ms(xs: list[float]) -> str:
        return f"{statistics.median(xs) * 1000:.1f} ms"

    print(f"swaps: {len(totals)} on {model.name} ({model.stat().st_size / 1e6:.2f} MB), {binary}")
    print(f"median switch -> ready (TierDeck, wall):        {ms(totals)}")
    print(f"median llama-server start -> listening (log):   {ms(servers)}")
    print(f"median overhead TierDeck adds (difference):     {ms(overheads)}")
    print(f"  of which stopping the old server (median):    {ms(stops)}")
    print(f"  min / max overhead: {min(overheads) * 1000:.1f} / {max(overheads) * 1000:.1f} ms")
    print("baseline, same command without TierDeck (Popen, /health every 5 ms, SIGTERM, wait):")
    print(f"  median stop + start -> ready:                 {ms(bare)}")
    print(f"  TierDeck switch minus that baseline:          "
          f"{(statistics.median(totals) - statistics.median(bare)) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
