"""No llama-server TierDeck starts is ever lost: registry entries come before processes, and
every process carries a mark (marks.py) that finds it when the registry does not."""

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.core.servers.conftest import (
    child_env,
    make_profile,
    start_then_kill_9_tierdeck,
    tiny_tier,
)
from tierdeck.core.servers import process as proc_mod
from tierdeck.core.servers.marks import ENV_KEY, ENV_LAUNCH, find_marked, mark_env
from tierdeck.core.servers.registry import Entry, Registry

pytestmark = pytest.mark.usefixtures("llama_server_bin")
HERE = Path(__file__).parent


def servers_of_this_home() -> list[psutil.Process]:
    """Independent of marks.py: processes that inherited this test's TIERDECK_HOME."""
    home = os.environ["TIERDECK_HOME"]
    out = []
    for p in psutil.process_iter():
        try:
            if p.pid != os.getpid() and p.environ().get("TIERDECK_HOME") == home \
                    and p.status() != psutil.STATUS_ZOMBIE and "python" not in p.name():
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return out


def swap_pair(tmp_path, tiny_model):
    return make_profile(tmp_path, {"a": tiny_tier(tiny_model), "b": tiny_tier(tiny_model)},
                        groups=[{"mode": "swap", "tiers": ["a", "b"]}])


def cli_down_all() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from tierdeck.cli import main; raise SystemExit(main())",
         "down", "--all"], env=child_env(), capture_output=True, text=True, timeout=120)


def test_servers_carry_their_registry_key(tmp_path, tiny_model, llama_server_bin, supervisors):
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(make_profile(tmp_path, {"x": tiny_tier(tiny_model)}))
    env = psutil.Process(st.pid).environ()
    entry = Registry().read()["t/x"]
    assert env[ENV_KEY] == "t/x" and env[ENV_LAUNCH] == entry.launch_id and entry.pid == st.pid
    assert env["TIERDECK_TEST_SESSION"]  # the suite's own leak mark still reaches the server
    assert [m.pid for m in find_marked(Registry().folder)] == [st.pid]


def test_lost_registry_next_start_stops_the_stray(tmp_path, tiny_model, llama_server_bin,
                                                  supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model)})
    pid = start_then_kill_9_tierdeck(prof.path, llama_server_bin)
    Registry().path.unlink()  # the registry is lost too; the server runs on
    assert proc_mod.alive(pid)
    supervisors(binary=llama_server_bin)  # the next TierDeck finds it by its mark (and
    assert proc_mod.wait_gone(pid, None, 30)  # stops it from its monitor thread)


def test_lost_registry_live_owner_keeps_it_until_down_all(tmp_path, tiny_model,
                                                          llama_server_bin, supervisors):
    owner = supervisors(binary=llama_server_bin)
    [st] = owner.up(make_profile(tmp_path, {"x": tiny_tier(tiny_model)}))
    Registry().path.unlink()
    other = supervisors(binary=llama_server_bin)  # its owner (this process) lives: no stray
    other.close()  # joins the monitor, which swept first
    assert proc_mod.alive(st.pid)
    done = cli_down_all()  # "stop every server TierDeck started"
    assert done.returncode == 0 and f"untracked server t/x (pid {st.pid})" in done.stdout
    assert not proc_mod.alive(st.pid)


def test_down_all_never_touches_another_homes_server(tmp_path, tiny_model, llama_server_bin,
                                                      supervisors):
    other = Registry(tmp_path / "other-home")
    theirs = supervisors(binary=llama_server_bin, registry=other)
    [st] = theirs.up(make_profile(tmp_path, {"x": tiny_tier(tiny_model)}))
    mine = supervisors(binary=llama_server_bin)
    assert mine.down(None) == [] and cli_down_all().returncode == 0
    assert proc_mod.alive(st.pid)  # another registry's server: not ours to stop
    theirs.down(None)
    assert not proc_mod.alive(st.pid)


def test_owner_died_between_spawn_and_pid(tmp_path, tiny_model, llama_server_bin, supervisors):
    """A launching entry (pid 0) whose TierDeck is gone, and its marked server: adopted."""
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model)})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sup = supervisors(binary=llama_server_bin)
    [first] = sup.up(prof)  # for a real command line; then stage the crash by hand
    sup.down("x")
    reg = Registry()
    launch_id = "feedface" * 4
    reg.put(Entry(profile="t", tier="x", pid=0, create_time=0.0, host="127.0.0.1",
                  port=first.port, alias=first.alias, command=first.command,
                  display=first.display, started_at=time.time(), log_path=first.log_path,
                  state="launching", owner_pid=dead.pid, launch_id=launch_id))
    fd = os.open(first.log_path, os.O_WRONLY | os.O_APPEND)
    p = proc_mod.spawn(first.command, mark_env(reg.folder, "t/x", launch_id), fd)
    try:
        sup2 = supervisors(binary=llama_server_bin)
        st = sup2.wait("x", ("ready",), timeout=30)
        assert st.state == "ready" and st.adopted and st.pid == p.pid
        assert reg.read()["t/x"].pid == p.pid
        sup2.down("x")
        assert p.wait(10) is not None
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


@pytest.mark.slow
def test_kill_9_during_switches_then_down_all_leaves_nothing(tmp_path, tiny_model,
                                                             llama_server_bin):
    """Kill the TierDeck process at random moments of 20 start/switch runs; `tierdeck down
    --all` afterwards stops every server any of them left, found by registry or mark."""
    prof = swap_pair(tmp_path, tiny_model)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    survivors = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, str(HERE / "switch_child.py"), str(prof.path),
             str(llama_server_bin), "1000"],
            stdout=subprocess.DEVNULL, env=child_env())
        time.sleep(rng.uniform(0.0, 2.5))  # import, adoption, a launch, a stop ...
        child.kill()
        child.wait(10)
        survivors += len(servers_of_this_home())
    assert survivors > 0, f"seed {seed}: no kill ever left a server: the test proved nothing"
    done = cli_down_all()
    assert done.returncode == 0, done.stderr
    left = servers_of_this_home()
    assert left == [], f"seed {seed}: left running: {[p.cmdline()[:1] for p in left]}\n{done.stdout}"
    assert Registry().read() == {}
