"""Against a real llama-server on the tiny model: rates, slots, down servers, memory."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest

from tests.core.hardware.fake_nvml import FakeNvml, rtx_3090_ti
from tierdeck.core.metrics import DOWN, ERROR, SLOW, UP, Sampler, ServerScraper, Target

MiB = 1024**2
GiB = 1024**3


def complete(url: str, n: int, **kw) -> dict:
    body = {"prompt": "hello world, the tier deck", "n_predict": n, "ignore_eos": True,
            "cache_prompt": False, **kw}
    r = httpx.post(url + "/completion", json=body, timeout=120)
    r.raise_for_status()
    return r.json()


def no_gpu() -> FakeNvml:
    """NVML that answers with no GPUs: the test reads the same on a machine with a card."""
    return FakeNvml([])


def test_generation_rate_rises_then_falls_back_to_zero(llama):
    srv = llama()
    sampler = Sampler(lambda: [Target("haiku", srv.url, srv.pid)], nvml=no_gpu())
    try:
        first = sampler.tick().server("haiku")
        assert first.state == UP and first.gen_tps is None  # one reading has no rate yet
        assert (first.slots_busy, first.slots_total) == (0, 2)

        out = complete(srv.url, 64)
        busy = sampler.tick().server("haiku")
        assert busy.gen_tps > 0 and busy.prompt_tps > 0
        assert busy.tokens_predicted_total == out["tokens_predicted"] == 64

        idle = sampler.tick().server("haiku")
        assert idle.gen_tps == 0 and idle.prompt_tps == 0
        assert idle.requests_processing == 0 and idle.slots_busy == 0
        assert sampler.store.last("srv/haiku/gen_tps") == 0
    finally:
        sampler.stop()


def test_live_rate_while_one_long_request_streams(llama):
    """tokens_predicted_total only grows when a request ends; /slots gives the live part."""
    srv = llama()
    scraper = ServerScraper(Target("haiku", srv.url, srv.pid))
    readings = [scraper.scrape()]
    done = threading.Event()
    worker = threading.Thread(target=lambda: (complete(srv.url, 1900), done.set()))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            readings.append(scraper.scrape())
            done.wait(0.1)
        worker.join(60)
        assert done.is_set()
        readings.append(scraper.scrape())
    finally:
        scraper.close()

    live = [s for s in readings if s.slots_busy and s.gen_tps]
    assert live, "no reading caught the request in flight"
    mid = live[0]
    assert mid.tokens_predicted_total == 0  # the counter has not moved yet...
    assert mid.gen_tps > 0  # ...but the rate already shows the stream
    (slot,) = [x for x in mid.slots if x.processing]
    assert slot.decoded > 0 and slot.context_tokens > slot.decoded  # prompt + generated

    # Rate x interval over the whole run adds up to exactly what was generated.
    generated = sum(s.gen_tps * (s.at - p.at) for p, s in zip(readings, readings[1:], strict=False)
                    if s.gen_tps is not None)
    assert readings[-1].tokens_predicted_total == 1900
    assert generated == pytest.approx(1900)
    assert readings[-1].slots_busy == 0


def test_killed_server_is_down_and_never_stalls_the_others(llama, hung_port):
    a, b = llama(), llama()
    targets = [Target("a", a.url, a.pid), Target("b", b.url, b.pid),
               Target("hung", f"http://127.0.0.1:{hung_port}", None)]
    samples: queue.Queue = queue.Queue()
    # The hung server would hold a scrape for 30 s; rounds keep coming regardless.
    sampler = Sampler(lambda: targets, interval_s=0.5, nvml=no_gpu(), read_timeout_s=30)
    sampler.subscribe(samples.put)
    sampler.start()
    try:
        first = samples.get(timeout=30)
        assert first.server("b").state in (UP, SLOW)
        assert first.server("hung").state == SLOW
        b.kill()
        seen_down = fresh = rounds = 0
        last_at = first.server("a").at
        for _ in range(40):
            s = samples.get(timeout=30)
            rounds += 1
            sa, sb, sh = s.server("a"), s.server("b"), s.server("hung")
            # On a loaded machine one scrape of `a` may miss its round (SLOW), but it is
            # never reported down, and it keeps getting fresh readings while `hung` hangs.
            assert sa.state in (UP, SLOW)
            if sa.state == UP and sa.at > last_at:
                fresh += 1
                last_at = sa.at
            assert sh.state == SLOW and "waiting" in sh.error
            if sb.state == DOWN:
                seen_down += 1
                assert sb.gen_tps is None
                if seen_down >= 5:
                    break
        assert seen_down >= 5
        assert fresh >= rounds // 2
    finally:
        sampler.stop()
    assert sampler.store.last("srv/b/up") == 0.0


def test_vram_series_from_injected_nvml(llama):
    srv = llama()
    gpu = rtx_3090_ti(util=37, procs=[(srv.pid, 600 * MiB), (99999, 2 * GiB)])
    target = Target("haiku", srv.url, srv.pid, planned_bytes=700 * MiB, loaded_bytes=650 * MiB)
    sampler = Sampler(lambda: [target], nvml=FakeNvml([gpu]), reserve_bytes=GiB)
    try:
        s = sampler.tick()
    finally:
        sampler.stop()
    h = s.server("haiku")
    assert h.gpu_bytes == 600 * MiB and h.actual_bytes == 600 * MiB
    assert h.rss_bytes > 0  # the real process's resident set, alongside
    assert (h.planned_bytes, h.loaded_bytes) == (700 * MiB, 650 * MiB)
    nv, cpu = s.devices
    assert nv.kind == "nvidia" and cpu.kind == "cpu"
    assert nv.processes[srv.pid] == 600 * MiB
    st = sampler.store
    assert st.last("dev/0/total_bytes") == gpu.total
    assert st.last("dev/0/used_bytes") == gpu.used
    assert st.last("dev/0/limit_bytes") == gpu.total - GiB
    assert st.last("dev/0/utilization_pct") == 37
    assert st.last("srv/haiku/gpu_bytes") == 600 * MiB
    assert st.last("srv/haiku/planned_bytes") == 700 * MiB


def test_cpu_server_is_measured_by_its_rss(llama):
    srv = llama()
    sampler = Sampler(lambda: [Target("haiku", srv.url, srv.pid)], nvml=no_gpu())
    try:
        s = sampler.tick()
    finally:
        sampler.stop()
    h = s.server("haiku")
    assert h.gpu_bytes is None and h.actual_bytes == h.rss_bytes > 0
    (cpu,) = s.devices
    assert cpu.kind == "cpu" and cpu.limit_bytes <= cpu.total_bytes


def test_api_key(llama):
    srv = llama("--api-key", "sekrit")
    sampler = Sampler(lambda: [Target("no-key", srv.url, srv.pid),
                               Target("key", srv.url, srv.pid, api_key="sekrit")], nvml=no_gpu())
    try:
        s = sampler.tick()
    finally:
        sampler.stop()
    assert s.server("no-key").state == ERROR and "API key" in s.server("no-key").error
    assert s.server("key").state == UP and s.server("key").slots_total == 2


def test_interval_is_adjustable_and_unsubscribe_stops_callbacks(llama):
    srv = llama()
    got: queue.Queue = queue.Queue()
    sampler = Sampler(lambda: [Target("haiku", srv.url, srv.pid)], interval_s=30, nvml=no_gpu())
    unsub = sampler.subscribe(got.put)
    sampler.start()
    try:
        got.get(timeout=30)  # the first round runs at once
        sampler.interval_s = 0.1  # applies now, not after the 30 s wait
        got.get(timeout=30)
        got.get(timeout=30)
        unsub()
        rounds = sampler.rounds
        while sampler.rounds < rounds + 2:
            time.sleep(0.05)
        assert got.empty() or got.qsize() <= 1  # at most a round already in flight
    finally:
        sampler.stop()
    assert not sampler.running


def test_top_once_json_and_table(llama, capsys):
    from tierdeck.cli import main

    srv = llama()
    complete(srv.url, 8)
    assert main(["top", "--url", f"haiku={srv.url}@{srv.pid}", "--json", "--interval", "0.1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (h,) = doc["servers"]
    assert h["state"] == "up" and h["slots_total"] == 2 and h["gen_tps"] == 0
    assert h["rss_bytes"] > 0
    assert main(["top", "--url", f"haiku={srv.url}", "--url", "gone=http://127.0.0.1:9",
                 "--once", "--interval", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "haiku" in out and "up" in out and "gone" in out and "down" in out


def test_top_reads_the_supervisor_registry(llama, capsys):
    import psutil

    from tierdeck.cli import main
    from tierdeck.core.servers.registry import Entry, Registry

    srv = llama()
    port = int(srv.url.rsplit(":", 1)[1])
    Registry().put(Entry(profile="p", tier="sonnet", pid=srv.pid,
                         create_time=psutil.Process(srv.pid).create_time(), host="127.0.0.1",
                         port=port, alias="local-sonnet", command=[], display="", started_at=0,
                         log_path=str(srv.log), planned_bytes=123 * MiB))
    assert main(["top", "--json", "--interval", "0.1"]) == 0
    (s,) = json.loads(capsys.readouterr().out)["servers"]
    assert (s["name"], s["state"], s["planned_bytes"]) == ("sonnet", "up", 123 * MiB)


def test_top_rejects_bad_urls(capsys):
    from tierdeck.cli import main

    assert main(["top", "--url", "nourl", "--once"]) == 2
    assert "NAME=http" in capsys.readouterr().err
    assert main(["top", "--url", "a=ftp://x", "--once"]) == 2
