"""Issue 10's proof: 300 switches beside a co-resident tier, a thread syncing the registry
and a second TierDeck process reading status. No hang, every switch ready, nothing left."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.core.servers.conftest import make_profile, tiny_tier
from tierdeck.core.servers.marks import find_marked
from tierdeck.core.servers.registry import Registry

SWITCHES = 300


@pytest.mark.slow
def test_300_switches_with_sync_and_a_second_reader(tmp_path, tiny_model, llama_server_bin,
                                                     supervisors):
    prof = make_profile(
        tmp_path, {"a": tiny_tier(tiny_model), "b": tiny_tier(tiny_model),
                   "scratch": tiny_tier(tiny_model)},
        groups=[{"mode": "swap", "tiers": ["a", "b"]}])
    sup = supervisors(binary=llama_server_bin)
    assert sup.up(prof, ["scratch"])[0].state == "ready"
    stop_file = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("status_reader_child.py")),
         str(llama_server_bin), str(stop_file)],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    stop = threading.Event()
    syncs = [0]

    def keep_syncing() -> None:
        while not stop.is_set():
            sup.sync_registry()
            syncs[0] += 1

    syncer = threading.Thread(target=keep_syncing, daemon=True)
    syncer.start()
    bad = []
    try:
        for i in range(SWITCHES):
            st = sup.switch(prof, "ab"[i % 2])
            if st.state != "ready":
                bad.append((i, st.state, st.reason))
    finally:
        stop.set()
        stop_file.write_text("")
        syncer.join(30)
        out, _ = reader.communicate(timeout=60)
    assert not syncer.is_alive(), "the syncing thread hung"
    assert bad == []
    report = json.loads(out)
    assert report["reads"] > 0 and syncs[0] > SWITCHES
    assert "scratch:ready" in report["seen"]  # the reader adopted what we run
    assert {s.tier: s.state for s in sup.status()} == {"scratch": "ready", "a": "stopped",
                                                       "b": "ready"}
    sup.down(None)
    assert Registry().read() == {} and find_marked(Registry().folder) == []
