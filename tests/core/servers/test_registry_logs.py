import os
import time

import psutil

from tierdeck.core.demo import demo_model_path, ensure_demo_model
from tierdeck.core.servers.logfiles import LogTail, log_path_for, open_for_server, read_tail
from tierdeck.core.servers.registry import Entry, Registry, process_matches
from tierdeck.core.servers.supervisor import Supervisor


def entry(**kw) -> Entry:
    base = dict(profile="p", tier="t", pid=os.getpid(),
                create_time=psutil.Process().create_time(), host="127.0.0.1", port=1,
                alias="a", command=["x"], display="x", started_at=time.time(),
                log_path="/nonexistent.log")
    base.update(kw)
    return Entry(**base)


def test_registry_round_trip_and_remove_by_pid():
    r = Registry()
    r.put(entry())
    r.put(entry(tier="u", pid=1))
    assert set(r.read()) == {"p/t", "p/u"}
    r.remove("p/u", pid=2)  # a newer server took the key: leave it
    assert "p/u" in r.read()
    r.remove("p/u", pid=1)
    assert set(r.read()) == {"p/t"}
    assert oct(r.path.stat().st_mode & 0o777) == "0o600"


def test_process_identity_needs_create_time():
    me = psutil.Process()
    assert process_matches(me.pid, me.create_time()) is not None
    assert process_matches(me.pid, me.create_time() - 100) is None  # a reused PID
    assert process_matches(2**22 + 12345, 0.0) is None


def test_damaged_registry_is_set_aside():
    r = Registry()
    r.folder.mkdir(parents=True, exist_ok=True)
    r.path.write_text("{not json")
    assert r.read() == {}
    assert any(p.name.startswith("servers.bad-") for p in r.folder.iterdir())


def test_stale_entry_with_reused_pid_is_not_adopted(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("srv  load_model: loading\nmain: exiting due to model loading error\n")
    # This test process's own PID, but a different start time: a reused PID, not our server.
    Registry().put(entry(create_time=psutil.Process().create_time() - 50, log_path=str(log)))
    sup = Supervisor(binary="/bin/false")
    try:
        st = sup.status()
        assert [s.state for s in st] == ["crashed"]
        assert st[0].detail == "found dead in the registry"
        assert "model failed to load" in st[0].reason
        assert Registry().read() == {}
    finally:
        sup.close()


def test_log_rotation_keeps_a_few(tmp_path):
    p = log_path_for("demo", "haiku")
    for i in range(5):
        fd = open_for_server(p)
        os.write(fd, f"run {i}\n".encode())
        os.close(fd)
    assert p.read_text() == "run 4\n"
    assert p.with_name(p.name + ".1").read_text() == "run 3\n"
    assert p.with_name(p.name + ".3").read_text() == "run 1\n"
    assert not p.with_name(p.name + ".4").exists()


def test_log_tail_partial_lines_and_truncation(tmp_path):
    p = tmp_path / "l.log"
    p.write_text("one\ntw")
    t = LogTail(p)
    assert t.read_new() == ["one"] and t.partial == "tw"
    with open(p, "a") as f:
        f.write("o\n...")
    assert t.read_new() == ["two"] and t.tail() == ["one", "two", "..."]
    with open(p, "a") as f:
        f.write("x" * 200 + "\n")
    assert t.rotate_if_big(max_bytes=100)
    assert p.stat().st_size == 0 and p.with_name("l.log.1").stat().st_size > 100
    with open(p, "a") as f:
        f.write("after\n")
    assert t.read_new() == ["after"]
    assert read_tail(p, 5) == ["after"]


def test_demo_model_written_once():
    p = ensure_demo_model()
    assert p == demo_model_path() and p.stat().st_size > 1000
    mtime = p.stat().st_mtime_ns
    assert ensure_demo_model().stat().st_mtime_ns == mtime
