"""The supervisor against a real llama-server on the generated tiny model."""

import json
import os
import signal
import socket

import httpx
import psutil
import pytest

from tests.core.servers.conftest import make_profile, start_then_kill_9_tierdeck, tiny_tier
from tierdeck.core.paths import app_dirs
from tierdeck.core.profiles import ProfileError
from tierdeck.core.servers.events import StateChanged, Step
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.supervisor import SupervisorError

pytestmark = pytest.mark.usefixtures("llama_server_bin")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def swap_profile(tmp_path, tiny_model, **kw):
    return make_profile(
        tmp_path,
        {"a": tiny_tier(tiny_model, alias="tiny-a", parallel=2, **kw),
         "b": tiny_tier(tiny_model, alias="tiny-b", thinking=False, **kw)},
        groups=[{"mode": "swap", "tiers": ["a", "b"]}],
    )


def test_up_chat_switch_down(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = swap_profile(tmp_path, tiny_model)
    sup = supervisors(binary=llama_server_bin)
    events = []
    sup.subscribe(events.append)

    [a] = sup.up(prof, ["a"])
    assert a.state == "ready", a.reason
    assert a.command[a.command.index("-c") + 1] == "1024"  # 512 per slot x 2 slots
    models = httpx.get(f"{a.base_url}/v1/models", timeout=10).json()
    assert models["data"][0]["id"] == "tiny-a"
    r = httpx.post(f"{a.base_url}/v1/chat/completions", timeout=60, json={
        "model": "tiny-a", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]
    props = httpx.get(f"{a.base_url}/props", timeout=10).json()
    assert props["total_slots"] == 2
    assert any("listening" in line or "slots" in line for line in a.log_tail)
    assert set(Registry().read()) == {"t/a"}
    # memory lines parsed from the log, recorded next to the plan that was used
    assert a.loaded is not None and a.loaded.total > 0 and a.loaded.n_slots == 2
    assert a.planned_bytes and a.planned_bytes > 0
    [rec] = [json.loads(x) for x in (app_dirs().data / "loads.jsonl").read_text().splitlines()]
    assert rec["tier"] == "a" and rec["planned_bytes"] == a.planned_bytes
    assert rec["loaded"]["total"] == a.loaded.total and rec["plan"]["ctx_per_slot"] == 512

    steps: list[Step] = []
    b = sup.switch(prof, "b", on_step=steps.append)
    assert b.state == "ready", b.reason
    assert [s.action for s in steps] == ["stop", "stopped", "start", "ready"]
    assert [s.tier for s in steps] == ["a", "a", "b", "b"]
    assert gone(a.pid)
    assert {s.tier: s.state for s in sup.status()} == {"a": "stopped", "b": "ready"}
    assert set(Registry().read()) == {"t/b"}
    changes = [(e.tier, e.state) for e in events if isinstance(e, StateChanged)]
    assert changes.index(("a", "stopped")) < changes.index(("b", "starting"))

    [down] = sup.down("b")
    assert down.state == "stopped" and gone(b.pid)
    assert Registry().read() == {}


def test_co_resident_tiers_start_side_by_side(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model), "y": tiny_tier(tiny_model)},
                        groups=[{"mode": "co-resident", "tiers": ["x", "y"]}])
    sup = supervisors(binary=llama_server_bin)
    sts = sup.up(prof)
    assert [s.state for s in sts] == ["ready", "ready"]
    assert sts[0].port != sts[1].port
    (tmp_path / "swap").mkdir()
    with pytest.raises(SupervisorError, match="swap group"):
        sup.up(swap_profile(tmp_path / "swap", tiny_model), ["a", "b"])
    sup.down(None)
    assert all(gone(s.pid) for s in sts)


def test_kill_9_server_is_reported_as_crash(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model)})
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof)
    assert st.state == "ready"
    os.kill(st.pid, signal.SIGKILL)
    crashed = sup.wait("x", ("crashed",), timeout=20)
    assert crashed.state == "crashed"
    assert crashed.reason == "exited (killed by SIGKILL)"
    assert crashed.failure["kind"] == "exited"
    assert Registry().read() == {}


def test_restart_policy_brings_it_back(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, restart="on", restart_backoff_s=0.1)})
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof)
    events = []
    sup.subscribe(lambda e: events.append(e) if isinstance(e, StateChanged) else None)
    os.kill(st.pid, signal.SIGKILL)
    assert sup.wait("x", ("crashed",), timeout=20).state == "crashed"
    back = sup.wait("x", ("ready",), timeout=60)
    assert back.state == "ready" and back.restarts == 1 and back.pid != st.pid
    assert [e.state for e in events][:3] == ["crashed", "starting", "ready"]
    assert Registry().read()["t/x"].pid == back.pid


def test_kill_9_of_supervisor_leaves_servers_the_next_one_adopts(
        tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model)})
    pid = start_then_kill_9_tierdeck(prof.path, llama_server_bin)
    assert psutil.pid_exists(pid) and not gone(pid)  # the server outlived its supervisor

    sup = supervisors(binary=llama_server_bin)
    st = sup.wait("x", ("ready",), timeout=20)
    assert st.state == "ready" and st.adopted and st.pid == pid
    assert httpx.get(f"{st.base_url}/health", timeout=5).status_code == 200
    [down] = sup.down("x")
    assert down.state == "stopped" and gone(pid)
    assert Registry().read() == {}


def test_another_supervisor_sees_start_and_stop(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model)})
    gui = supervisors(binary=llama_server_bin)
    cli = supervisors(binary=llama_server_bin)
    [st] = cli.up(prof)
    seen = gui.wait("x", ("ready",), timeout=20)
    assert seen is not None and seen.state == "ready" and seen.adopted and seen.pid == st.pid
    cli.down("x")
    after = gui.wait("x", ("stopped",), timeout=20)
    assert after.state == "stopped"  # not "crashed": someone stopped it on purpose


def test_port_in_use(tmp_path, tiny_model, llama_server_bin, supervisors):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, port=port)})
        sup = supervisors(binary=llama_server_bin)
        [st] = sup.up(prof)
    assert st.state == "failed"
    assert st.failure["kind"] == "port_in_use", st.log_tail
    assert Registry().read() == {}


def test_bad_flag(tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, extra_args=["--no-such-flag"])})
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof)
    assert st.state == "failed" and st.failure["kind"] == "bad_flag", st.log_tail
    assert "--no-such-flag" in st.reason


def test_model_missing_refused_before_start(tmp_path, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tmp_path / "nope.gguf")})
    sup = supervisors(binary=llama_server_bin)
    with pytest.raises(ProfileError, match=r"t.yaml:\d+: tiers.x.model: model file not found"):
        sup.up(prof)
    assert sup.status() == [] and Registry().read() == {}


def test_model_vanished_or_corrupt_is_classified(tmp_path, tiny_model, llama_server_bin, supervisors):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a gguf file" * 100)
    prof = make_profile(tmp_path, {"x": tiny_tier(bad)})
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof)
    assert st.state == "failed" and st.failure["kind"] == "model_corrupt", st.log_tail
    # A model that is gone by the time the server opens it (-m given last wins).
    prof = make_profile(tmp_path, {"y": tiny_tier(tiny_model, extra_args=["-m", str(bad) + ".x"])},
                        name="u")
    [st] = sup.up(prof)
    assert st.state == "failed" and st.failure["kind"] == "model_not_found", st.log_tail


def test_api_key_protects_the_server_and_stays_out_of_argv(
        tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, api_key="s3cret-key")})
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof)
    assert st.state == "ready", st.reason
    assert "s3cret-key" not in " ".join(st.command) and "s3cret-key" not in st.display
    assert "s3cret-key" not in " ".join(psutil.Process(st.pid).cmdline())
    assert httpx.get(f"{st.base_url}/v1/models", timeout=5).status_code == 401
    ok = httpx.get(f"{st.base_url}/v1/models", timeout=5,
                   headers={"Authorization": "Bearer s3cret-key"})
    assert ok.status_code == 200


def test_adopted_server_is_restarted_when_its_owner_is_gone(
        tmp_path, tiny_model, llama_server_bin, supervisors):
    prof = make_profile(tmp_path, {"x": tiny_tier(tiny_model, restart="on", restart_backoff_s=0.1,
                                                  api_key="k3y")})
    pid = start_then_kill_9_tierdeck(prof.path, llama_server_bin)
    sup = supervisors(binary=llama_server_bin)
    assert sup.wait("x", ("ready",), timeout=20).adopted
    os.kill(pid, signal.SIGKILL)
    assert sup.wait("x", ("crashed",), timeout=20).state == "crashed"
    back = sup.wait("x", ("ready",), timeout=60)
    assert back.state == "ready" and back.pid != pid and back.restarts == 1
    # the key came back from the profile, not from the registry (which keeps no secrets)
    assert httpx.get(f"{back.base_url}/v1/models", timeout=5).status_code == 401
    assert httpx.get(f"{back.base_url}/v1/models", timeout=5,
                     headers={"Authorization": "Bearer k3y"}).status_code == 200
