"""Where a swap's time goes, phase by phase, on the tiny generated model.

    .venv/bin/python bench/swap_phases.py [--swaps 40] [--app PATH]

Phases of Supervisor.switch(), medians over the swaps: stopping the old server (call ->
"stopped" event), planning + registry entry up to the spawn, the spawn itself (log
rotation + Popen), spawn -> "ready" event (llama-server's load and the health-poll
latency), ready -> switch() returns. --app runs another checkout's app/ folder (for
example the code before a change, from `git archive`) so both print the same figures.
Runs in a throwaway TIERDECK_HOME; never touches the user's servers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swaps", type=int, default=40)
    ap.add_argument("--app", default=str(Path(__file__).resolve().parents[1] / "app"))
    args = ap.parse_args()
    sys.path.insert(0, args.app)
    home = tempfile.mkdtemp(prefix="tierdeck-swapphases-")
    os.environ["TIERDECK_HOME"] = home
    from tierdeck.core.profiles import load_profile_file  # noqa: PLC0415
    from tierdeck.core.servers import process as proc_mod  # noqa: PLC0415
    from tierdeck.core.servers.binary import find_llama_server  # noqa: PLC0415
    from tierdeck.core.servers.events import StateChanged  # noqa: PLC0415
    from tierdeck.core.servers.supervisor import Supervisor, free_port  # noqa: PLC0415
    from tierdeck.core.tinymodel import write_tiny_model  # noqa: PLC0415

    model = write_tiny_model(Path(home) / "tiny.gguf")
    tier = {"model": str(model), "threads": 1, "ctx_per_slot": 512, "flash_attn": "off"}
    doc = {"name": "phases",
           "tiers": {"a": {**tier, "port": free_port()}, "b": {**tier, "port": free_port()}},
           "groups": [{"mode": "swap", "tiers": ["a", "b"]}]}
    path = Path(home) / "phases.yaml"
    path.write_text(json.dumps(doc))
    profile = load_profile_file(path)

    marks: dict[str, float] = {}
    real_spawn = proc_mod.spawn

    def spawn(*a, **kw):
        marks["spawn_in"] = time.monotonic()
        p = real_spawn(*a, **kw)
        marks["spawn_out"] = time.monotonic()
        return p

    proc_mod.spawn = spawn  # the supervisor calls it through the module
    sup = Supervisor(binary=find_llama_server().path)
    sup.subscribe(lambda e: marks.__setitem__(f"{e.tier}:{e.state}", time.monotonic())
                  if isinstance(e, StateChanged) else None)
    rows: list[dict[str, float]] = []
    try:
        if sup.up(profile, ["a"])[0].state != "ready":
            print("first start failed", file=sys.stderr)
            return 1
        for i in range(args.swaps):
            new, old = ("b", "a") if i % 2 == 0 else ("a", "b")
            marks.clear()
            t0 = time.monotonic()
            st = sup.switch(profile, new)
            t1 = time.monotonic()
            if st.state != "ready":
                print(f"swap {i} failed: {st.reason}", file=sys.stderr)
                return 1
            rows.append({
                "stop old server": marks[f"{old}:stopped"] - t0,
                "plan + registry -> spawn": marks["spawn_in"] - marks[f"{old}:stopped"],
                "spawn (log rotation, Popen)": marks["spawn_out"] - marks["spawn_in"],
                "spawn -> ready (load + health poll)": marks[f"{new}:ready"] - marks["spawn_out"],
                "ready -> switch() returns": t1 - marks[f"{new}:ready"],
                "total": t1 - t0,
            })
    finally:
        sup.down(None)
        sup.close()
    print(f"{len(rows)} swaps, code from {args.app}")
    for k in rows[0]:
        print(f"  {k:<38} {statistics.median(r[k] for r in rows) * 1000:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
