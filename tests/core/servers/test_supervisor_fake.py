"""Cases a real llama-server cannot produce on demand: hang, never healthy, ignores SIGTERM."""

import threading
import time

import psutil

from tests.core.servers.conftest import make_profile, tiny_tier
from tierdeck.core.servers.events import StateChanged


def fake_profile(tmp_path, mode: str, **kw):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")  # never read by the fake
    return make_profile(tmp_path, {"x": tiny_tier(model, env={"FAKE_MODE": mode}, **kw)})


def up_in_background(sup, prof) -> tuple[threading.Thread, dict]:
    """up() blocks until the tier settles; run it on a thread and keep its status."""
    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("st", sup.up(prof)[0]))
    t.start()
    return t, result


def test_hang_during_load_times_out_with_progress(tmp_path, fake_bin, supervisors):
    prof = fake_profile(tmp_path, "hang", load_timeout_s=3)
    sup = supervisors(binary=fake_bin)
    t, result = up_in_background(sup, prof)
    seen = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and t.is_alive():
        st = sup.get("x")
        if st and st.state == "starting" and st.load_progress:
            seen = st
            break
        time.sleep(0.05)
    t.join(30)
    assert seen is not None and 0 < seen.load_progress < 1
    assert "loading model" in seen.detail
    st = result["st"]
    assert st.state == "failed" and st.failure["kind"] == "timeout"
    assert not psutil.pid_exists(st.pid) or psutil.Process(st.pid).status() == "zombie"


def test_never_healthy_fails_and_is_stopped(tmp_path, fake_bin, supervisors):
    prof = fake_profile(tmp_path, "never-healthy", load_timeout_s=1)
    sup = supervisors(binary=fake_bin)
    events = []
    sup.subscribe(lambda e: events.append(e) if isinstance(e, StateChanged) else None)
    st = sup.up(prof)[0]
    assert st.state == "failed" and st.reason.startswith("not ready after 1 s")
    assert [e.state for e in events if e.tier == "x"][:1] == ["starting"]
    assert events[-1].state == "failed"
    assert sup.registry.read() == {}


def test_ignores_sigterm_gets_sigkill(tmp_path, fake_bin, supervisors):
    prof = fake_profile(tmp_path, "ignore-term", stop_timeout_s=0.5)
    sup = supervisors(binary=fake_bin)
    st = sup.up(prof)[0]
    assert st.state == "ready", st.reason
    pid = st.pid
    down = sup.down("x")[0]
    assert down.state == "stopped"
    assert down.detail.startswith("killed: no exit 0.5 s after SIGTERM")
    assert not psutil.pid_exists(pid)


def test_stop_cancels_a_load(tmp_path, fake_bin, supervisors):
    prof = fake_profile(tmp_path, "hang", load_timeout_s=60)
    sup = supervisors(binary=fake_bin)
    t, result = up_in_background(sup, prof)
    st = sup.wait("x", ("starting",), timeout=10)
    assert st is not None and st.state == "starting"
    [down] = sup.down("x")
    t.join(20)
    assert down.state == "stopped" and result["st"].state == "stopped"
    assert sup.registry.read() == {}


def test_stop_between_plan_and_launch_starts_nothing(tmp_path, fake_bin, supervisors):
    """down() arriving while up() is between planning and launching (the "start" step)."""
    prof = fake_profile(tmp_path, "hang", load_timeout_s=60)
    sup = supervisors(binary=fake_bin)
    stopped = []

    def on_step(step):
        if step.action == "start":
            stopped.extend(sup.down("x"))

    [st] = sup.up(prof, on_step=on_step)
    assert st.state == "stopped" and st.pid is None
    assert [d.detail for d in stopped] == ["stopped before launch"]
    assert sup.registry.read() == {}


def test_registry_that_cannot_be_written_fails_the_start_before_any_spawn(
        tmp_path, fake_bin, supervisors):
    from tierdeck.core.servers.registry import Registry

    class FullDisk(Registry):
        def put(self, entry):
            raise OSError(28, "No space left on device")

    prof = fake_profile(tmp_path, "ok")
    sup = supervisors(binary=fake_bin, registry=FullDisk())
    [st] = sup.up(prof)
    assert st.state == "failed" and st.pid is None
    assert st.reason == "not started: cannot write the registry: " \
        f"{sup.registry.path}: No space left on device"


def test_stop_after_the_entry_is_written_cancels_the_spawn(tmp_path, fake_bin, supervisors):
    """down() lands between the registry write and the spawn: no process, no entry left."""
    from tierdeck.core.servers.marks import find_marked
    from tierdeck.core.servers.registry import Registry

    seen: list = []

    class StopOnPut(Registry):
        def put(self, entry):
            super().put(entry)
            seen.append(entry.state)
            seen.extend(d.detail for d in sup.down("x"))  # no supervisor lock held here

    prof = fake_profile(tmp_path, "ok")
    sup = supervisors(binary=fake_bin, registry=StopOnPut())
    [st] = sup.up(prof)
    assert st.state == "stopped" and st.pid is None
    assert seen == ["launching", "stopped before launch"]
    assert sup.registry.read() == {} and find_marked(sup.registry.folder) == []


def test_a_stop_whose_stopper_died_is_finished_by_the_next_tierdeck(
        tmp_path, fake_bin, supervisors):
    """A TierDeck killed mid-stop of a server that ignores SIGTERM: the next one SIGKILLs it."""
    import os
    import subprocess
    import sys

    import httpx

    from tierdeck.core.servers import process as proc_mod
    from tierdeck.core.servers.marks import mark_env
    from tierdeck.core.servers.registry import Entry, Registry

    prof = fake_profile(tmp_path, "ignore-term", stop_timeout_s=0.5)
    t = prof.tier("x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    argv = [str(fake_bin), "--host", "127.0.0.1", "--port", str(t.port)]
    log = tmp_path / "x.log"
    p = proc_mod.spawn(argv, {"FAKE_MODE": "ignore-term",
                              **mark_env(Registry().folder, "t/x", "ab" * 16)},
                       os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    try:
        deadline = time.monotonic() + 20  # SIGTERM is ignored once it answers
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{t.port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        ps = proc_mod.identify(p.pid)
        Registry().put(Entry(profile="t", tier="x", pid=p.pid, create_time=ps.create_time(),
                             host="127.0.0.1", port=t.port, alias="x", command=argv,
                             display=" ".join(argv), started_at=0.0, log_path=str(log),
                             profile_path=str(prof.path), state="stopping",
                             owner_pid=dead.pid, launch_id="ab" * 16))
        sup = supervisors(binary=fake_bin)
        st = sup.wait("x", ("stopped",), timeout=30)
        assert st.state == "stopped" and st.detail == "killed: no exit 0.5 s after SIGTERM"
        assert p.wait(10) is not None and Registry().read() == {}
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_one_hardware_session_for_every_start(tmp_path, fake_bin, tiny_model, supervisors):
    """Each start plans on the devices read through the supervisor's one hardware session:
    NVML is opened once for many starts (not once per tier) and closed with the supervisor."""
    from tests.core.hardware.fake_nvml import FakeNvml, rtx_3090_ti
    from tests.core.servers.conftest import make_profile
    from tierdeck.core.hardware import HardwareSession
    from tierdeck.core.units import GiB

    fake = FakeNvml([rtx_3090_ti()])
    made = []

    def hardware():
        made.append(HardwareSession(nvml=fake, platform_name="linux", memory=(64 * GiB, 40 * GiB)))
        return made[-1]

    tier = {"env": {"FAKE_MODE": "ready"}}
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, **tier),
                                   "y": tiny_tier(tiny_model, **tier)})
    sup = supervisors(binary=fake_bin, hardware=hardware)
    assert fake.inits == 0 and made == []  # opened on first use, not with the supervisor
    for names in (["x"], ["y"]):
        [st] = sup.up(prof, names)
        assert st.state == "ready", st.reason
    sup.down("x")
    [st] = sup.up(prof, ["x"])
    assert st.state == "ready", st.reason
    assert "RTX 3090 Ti" in st.plan_note, st.plan_note  # planned on the injected card
    assert len(made) == 1 and fake.inits == 1 and fake.shutdowns == 0
    sup.down(None)
    sup.close()
    assert fake.shutdowns == 1
