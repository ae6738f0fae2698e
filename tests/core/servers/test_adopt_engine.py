"""A shared engine started by one TierDeck and adopted by the next keeps its tier: its restart
policy, stop timeout and environment come from the profile's engine, not from nothing."""

from __future__ import annotations

from tests.core.servers.conftest import make_profile, tiny_tier


def test_adopted_shared_engine_keeps_its_engine_tier(tmp_path, tiny_model, llama_server_bin,
                                                     supervisors):
    haiku = tiny_tier(tiny_model, parallel=1, restart="on", stop_timeout_s=7)
    prof = make_profile(tmp_path, {
        "haiku": haiku,
        "sonnet": tiny_tier(tiny_model, parallel=1, port=haiku["port"]),  # one engine, one port
    }, groups=[{"mode": "shared", "tiers": ["haiku", "sonnet"]}])
    engine = prof.engine_of("haiku")
    first = supervisors(binary=llama_server_bin)
    [st] = first.up(prof, [engine])
    assert st.state == "ready", st.reason
    first.close()  # the window closed: the server keeps running

    second = supervisors(binary=llama_server_bin)
    adopted = second.wait(engine, ("ready",), timeout=30, profile=prof.name)
    assert adopted is not None and adopted.state == "ready" and adopted.pid == st.pid
    with second.hub.lock:
        tier = second.hub.servers[f"{prof.name}/{engine}"].tier
    assert tier is not None and tier.is_engine and tier.members == ["haiku", "sonnet"]
    assert tier.restart == "on"  # the default is off: this came from the profile
    assert tier.stop_timeout_s == prof.tier(engine).stop_timeout_s
