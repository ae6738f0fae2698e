from __future__ import annotations

from dataclasses import replace

from tierdeck.core.hardware import Device
from tierdeck.core.planner import Estimate
from tierdeck.core.profiles.schema import Tier
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.plan.plan_model import bar_model, verdict_text
from tierdeck.gui.shell.tray import tray_state
from tierdeck.gui.tiers.card_model import card_model


def tier(**kw) -> Tier:
    return Tier(name="haiku", alias="local-haiku", slot="haiku", parallel=2, ctx_per_slot=32768,
                cache_type_k="q8_0", cache_type_v="q8_0", thinking=False, **kw)


def test_stopped_card():
    m = card_model(tier(), None, planned_bytes=3 * 1024**3)
    assert m.state == "stopped" and m.primary_action == "Start" and not m.can_stop
    assert m.details == "2 × 32K · KV q8_0 · thinking off"
    assert m.memory == "planned 3.0 GiB"


def test_loading_card_shows_progress_and_stop():
    st = ServerStatus("haiku", "p", "starting", load_progress=0.42)
    m = card_model(tier(), st)
    assert m.state_text == "loading 42%" and m.progress == 42 and m.can_stop
    assert m.primary_action == ""


def test_crashed_card_shows_the_reason_and_offers_restart():
    st = ServerStatus("haiku", "p", "crashed", reason="out of memory on CUDA0")
    m = card_model(tier(), st)
    assert m.state_text == "crashed: out of memory on CUDA0"
    assert m.primary_action == "Restart"


def test_swap_label_when_a_partner_runs_and_speed_when_ready():
    assert card_model(tier(), None, other_running=True).primary_action == "Swap to"
    st = ServerStatus("haiku", "p", "ready", port=18080)
    m = card_model(tier(), st, tokens_per_s=123.4)
    assert m.state_text == "ready on :18080" and m.speed == "123.4 tok/s"


def test_plan_that_went_wrong_shows_on_the_card():
    st = ServerStatus("haiku", "p", "ready", port=1,
                      plan_note="does not fit on nvidia:0 RTX: started with llama-server's --fit")
    m = card_model(tier(), st)
    assert m.memory.endswith("\ndoes not fit on nvidia:0 RTX: started with llama-server's --fit")
    ok = ServerStatus("haiku", "p", "ready", port=1, planned_bytes=2 * 1024**3,
                      plan_note="planned 2.0 GiB of 22.0 GiB on nvidia:0 RTX")
    m = card_model(tier(), ok)
    assert m.memory == "planned 2.0 GiB" and m.plan_note.startswith("planned 2.0 GiB of 22.0")


def test_remote_tier_has_nothing_to_start():
    t = Tier(name="opus", kind="remote", model="claude-opus-4-7", base_url="https://api.anthropic.com")
    m = card_model(t, None)
    assert m.is_remote and m.primary_action == "" and not m.can_stop


def test_tray_state_priority():
    s = {"a": ServerStatus("a", "p", "ready"), "b": ServerStatus("b", "p", "crashed")}
    assert tray_state(s) == "crashed"
    assert tray_state({}) is None


def est() -> Estimate:
    return Estimate(weights_bytes=10, kv_bytes=5, recurrent_bytes=0, compute_bytes=3, output_bytes=0,
                    overhead_bytes=2, total_bytes=20, budget_bytes=30, fits=True, ctx_total=512,
                    ctx_per_slot=512, parallel=1, type_k="f16", type_v="f16")


def dev() -> Device:
    return Device(index=0, kind="cpu", name="test", total_bytes=40, free_bytes=35, budget_bytes=30,
                  reserve_bytes=5, source="test")


def test_bar_model_segments_and_verdict():
    m = bar_model("t", est(), dev())
    assert [s.label for s in m.segments] == ["weights", "KV cache", "compute", "overhead", "free"]
    assert m.segments[-1].bytes == 10 and m.capacity_bytes == 40 and m.budget_bytes == 30
    assert verdict_text(est()).startswith("fits: 20 B of 30 B")
    assert "short by 20 B" in verdict_text(replace(est(), total_bytes=50, fits=False))


def test_a_start_that_failed_before_any_server_ran_shows_why():
    m = card_model(tier(), None, error="model file not found: /m/x.gguf")
    assert m.state == "failed" and m.state_text == "failed: model file not found: /m/x.gguf"
    assert m.primary_action == "Restart"


def test_loaded_memory_from_the_load_log_shows_on_the_card_and_in_metrics_targets():
    from tierdeck.core.servers.memlog import LoadedMemory
    from tierdeck.gui.bridges.metrics_bridge import targets_from

    loaded = LoadedMemory(model_bytes={"CPU": 3 * 1024**2}, compute_bytes={"CPU": 1024**2})
    st = ServerStatus("haiku", "p", "ready", pid=42, port=18080, base_url="http://127.0.0.1:18080",
                      planned_bytes=5 * 1024**2, loaded=loaded)
    assert card_model(tier(), st).memory == "planned 5.0 MiB · loaded 4.0 MiB"
    stopped = ServerStatus("sonnet", "p", "stopped", base_url="http://127.0.0.1:18081")
    [t] = targets_from({"haiku": st, "sonnet": stopped})
    assert (t.name, t.pid, t.planned_bytes, t.loaded_bytes) == ("haiku", 42, 5 * 1024**2, 4 * 1024**2)


def test_cards_say_a_tier_shares_an_engine_with_no_gateway_running():
    from tierdeck.core.profiles import load_profile
    from tierdeck.gui.tiers.card_model import engine_notes

    prof = load_profile("demo")  # haiku and sonnet share one engine
    notes = engine_notes(prof)
    assert notes == {"haiku": "shares engine haiku+sonnet with sonnet",
                     "sonnet": "shares engine haiku+sonnet with haiku"}
    m = card_model(prof.tiers["haiku"], None, engine_note=notes["haiku"])
    assert m.gateway == "shares engine haiku+sonnet with sonnet"
    assert card_model(prof.tiers["long"], None, engine_note=notes.get("long", "")).gateway == ""
    # a running gateway's line wins when it says who shares; in-flight alone is appended
    live = "shares engine haiku+sonnet with sonnet · 2 in flight · 1 queued"
    assert card_model(prof.tiers["haiku"], None, engine_note=notes["haiku"],
                      gateway_note=live).gateway == live
    assert card_model(prof.tiers["haiku"], None, engine_note=notes["haiku"],
                      gateway_note="1 in flight").gateway == (
        "shares engine haiku+sonnet with sonnet · 1 in flight")
