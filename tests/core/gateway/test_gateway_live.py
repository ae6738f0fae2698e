"""The gateway in front of a real llama-server on the generated tiny model."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.core.gateway.conftest import shared_profile, sse_lines, status, wait_until
from tierdeck.core.gateway.apply import apply_tier

pytestmark = pytest.mark.usefixtures("llama_server_bin")
MSG = [{"role": "user", "content": "hello tier deck"}]
THINK_CLOSED = "<think>\n\n</think>\n\n"


def post(url, path, body, **kw):
    return httpx.post(f"{url}{path}", json=body, timeout=120, **kw)


def engine_status(srv, name="haiku+sonnet"):
    return srv.sup.get(name, "gw")


def test_alternating_tiers_share_one_engine_and_thinking_differs(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model)
    srv = gateway(prof)
    for i in range(20):
        model = ("claude-haiku-4-5-20251001", "claude-sonnet-4-5")[i % 2]
        if i % 4 < 2:
            r = post(srv.url, "/v1/messages?beta=true",
                     {"model": model, "max_tokens": 2, "messages": MSG})
            assert r.status_code == 200 and r.json()["type"] == "message", r.text
        else:
            r = post(srv.url, "/v1/chat/completions",
                     {"model": model.replace("claude-haiku-4-5-20251001", "local-haiku"),
                      "max_tokens": 2, "messages": MSG})
            assert r.status_code == 200 and r.json()["choices"], r.text
    doc = status(srv)
    pids = {doc["tiers"][t]["pid"] for t in ("haiku", "sonnet")}
    assert len(pids) == 1 and None not in pids
    assert doc["tiers"]["haiku"]["requests"] == doc["tiers"]["sonnet"]["requests"] == 10
    assert doc["tiers"]["haiku"]["shared_with"] == ["sonnet"]
    st = engine_status(srv)
    assert st.pid in pids and srv.gateway.engines.swaps == 1
    assert [s.tier for s in srv.sup.status() if s.state == "ready"] == ["haiku+sonnet"]
    log = Path(st.log_path).read_text(errors="replace")
    assert log.count("load_tensors: loading model tensors") == 1  # one load for 20 requests
    assert "n_slots = 3" in log and "kv_unified = 'true'" in log

    # The rendered prompts: haiku's is sonnet's plus the closed think block.
    prompts = {}
    for name in ("haiku", "sonnet"):
        body = {"messages": MSG}
        apply_tier(body, prof.tiers[name], "openai")
        prompts[name] = post(st.base_url, "/apply-template", body).json()["prompt"]
    assert prompts["haiku"] == prompts["sonnet"] + THINK_CLOSED
    # ... and the prompt token counts the gateway recorded differ by that block's tokens.
    ntok = {n: len(post(st.base_url, "/tokenize", {"content": p}).json()["tokens"])
            for n, p in prompts.items()}
    assert ntok["haiku"] > ntok["sonnet"]
    rows = wait_until(lambda: len(srv.gateway.ledger.rows) == 20 and srv.gateway.ledger.rows,
                      30, "20 ledger rows")  # recorded once each answer has gone out
    assert all(r.status == 200 and r.engine == "haiku+sonnet" for r in rows)
    by_tier = {r.tier: r.prompt_tokens for r in rows if r.api == "anthropic"}
    assert by_tier["haiku"] - by_tier["sonnet"] == ntok["haiku"] - ntok["sonnet"]
    assert all(r.completion_tokens == 2 for r in rows)


def test_swap_group_request_starts_the_partner_once(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model)
    srv = gateway(prof, ping_interval_s=0.02)
    r = post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 2, "messages": MSG})
    assert r.status_code == 200
    old_pid = engine_status(srv).pid

    async def burst():
        async with httpx.AsyncClient(timeout=120) as c:
            rs = await asyncio.gather(*[
                c.post(f"{srv.url}/v1/chat/completions",
                       json={"model": "local-scratch", "max_tokens": 2, "messages": MSG})
                for _ in range(4)])
        return [r.status_code for r in rs]

    assert asyncio.run(burst()) == [200] * 4
    assert srv.gateway.engines.swaps == 2  # the first start, then ONE swap for four requests
    doc = status(srv)
    assert doc["tiers"]["scratch"]["state"] == "ready"
    assert doc["tiers"]["haiku"]["state"] == "stopped"
    assert engine_status(srv).state == "stopped"
    wait_until(lambda: not _alive(old_pid), 10, "the partner's exit")
    # and back: a stream for sonnet waits for the swap with pings, then is served
    with httpx.stream("POST", f"{srv.url}/v1/messages", timeout=120, json={
            "model": "sonnet", "max_tokens": 3, "stream": True, "messages": MSG}) as r:
        assert r.status_code == 200
        lines = sse_lines(r.read())
        events = [line for line in lines if line.startswith("event:")]
    assert events[0] == "event: ping"  # headers and pings while the swap ran
    # (llama-server b11434 sends message_start with the first token's text only: gibberish
    # whose first token decodes to no text has none, so the end of the answer is checked)
    assert "event: message_delta" in events and events[-1] == "event: message_stop", \
        [x for x in lines if "ping" not in x]
    assert srv.gateway.engines.swaps == 3


def test_swap_waits_for_the_partners_requests_to_finish(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model, haiku={"ctx_per_slot": 4096})
    srv = gateway(prof)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200

    async def run():
        started = asyncio.Event()
        async with httpx.AsyncClient(timeout=120) as c:
            async def haiku():
                body = {"model": "local-haiku", "messages": MSG, "max_tokens": 600,
                        "ignore_eos": True, "stream": True,
                        "stream_options": {"include_usage": True}}
                n, finish, raw = 0, None, b""
                async with c.stream("POST", f"{srv.url}/v1/chat/completions", json=body) as r:
                    async for chunk in r.aiter_bytes():
                        started.set()
                        raw += chunk
                for line in sse_lines(raw):
                    if line.startswith("data: {"):
                        d = json.loads(line[6:])
                        ch = d["choices"]
                        if d.get("usage"):
                            n = d["usage"]["completion_tokens"]
                        if ch and ch[0].get("finish_reason"):
                            finish = ch[0]["finish_reason"]
                return n, finish, time.monotonic()

            first = asyncio.ensure_future(haiku())
            await started.wait()  # haiku is streaming: now ask for its swap partner
            r = await c.post(f"{srv.url}/v1/chat/completions", json={
                "model": "local-scratch", "max_tokens": 2, "messages": MSG})
            return await first, r.status_code, time.monotonic()

    (n, finish, haiku_end), code, scratch_end = asyncio.run(run())
    assert code == 200
    # the swap waited: haiku's stream ran to its end before its engine was stopped
    assert finish == "length" and n == 600
    assert haiku_end <= scratch_end
    assert srv.gateway.engines.swaps == 2


def _alive(pid):
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


LONG = {"max_tokens": 400, "ignore_eos": True, "stream": True, "temperature": 0}


def test_tier_concurrency_two_in_flight_third_waits(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model, scratch=False,
                          haiku={"ctx_per_slot": 16384})  # the pool fits all three
    srv = gateway(prof)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200

    async def run():
        release = asyncio.Event()
        got_chunk = []
        async with httpx.AsyncClient(timeout=120) as c:
            async def one(i):
                # A held stream stays in flight only while it outgrows the socket buffers
                # (MiBs on loopback): with 20 logprobs per token it does; a text-only stream
                # of 10000 tokens went whole into the buffers and ended within 3 s.
                body = {"model": "local-haiku", "messages": MSG, **LONG, "max_tokens": 5000,
                        "logprobs": True, "top_logprobs": 20}
                async with c.stream("POST", f"{srv.url}/v1/chat/completions", json=body) as r:
                    assert r.status_code == 200
                    async for _ in r.aiter_bytes():
                        got_chunk.append(i)
                        await release.wait()  # hold the request in flight
                        return  # then leave: the gateway cancels upstream

            tasks = [asyncio.ensure_future(one(i)) for i in range(3)]
            seen = await asyncio.to_thread(
                wait_until, lambda: (lambda t: t if t["in_flight"] == 2 and t["queued"] == 1
                                     else None)(status(srv)["tiers"]["haiku"]),
                30, "2 in flight, 1 queued")
            # Admitted is not yet streamed: the second's first bytes may still be on their way.
            await asyncio.to_thread(wait_until, lambda: len(got_chunk) == 2, 30,
                                    "the first chunk of both admitted requests")
            again = (await asyncio.to_thread(status, srv))["tiers"]["haiku"]
            assert (again["in_flight"], again["queued"]) == (2, 1)
            assert len(set(got_chunk)) == 2  # two streams held; the third has not started
            release.set()
            await asyncio.gather(*tasks)
            assert sorted(got_chunk) == [0, 1, 2]
            return seen

    seen = asyncio.run(run())
    assert seen["in_flight"] == 2 and seen["queued"] == 1
    wait_until(lambda: status(srv)["in_flight"] == 0 and status(srv)["queued"] == 0, 30,
               "everything finished or cancelled")


def test_small_pool_queues_long_requests_and_none_fail(tmp_path, tiny_model, gateway):
    # one pool of 512 tokens for 3 slots; each request may grow to ~330 tokens
    prof = shared_profile(tmp_path, tiny_model, scratch=False,
                          haiku={"ctx_per_slot": 512}, sonnet={"ctx_per_slot": 512})
    srv = gateway(prof)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200
    assert srv.gateway.gates["haiku+sonnet"].pool == 512
    peak = {"queued": 0}

    async def run():
        async with httpx.AsyncClient(timeout=120) as c:
            async def one(i):
                body = {"model": ("local-haiku", "local-sonnet")[i % 2], "messages": MSG,
                        "max_tokens": 300, "ignore_eos": True, "temperature": 0}
                r = await c.post(f"{srv.url}/v1/chat/completions", json=body)
                return r.status_code, r.json()

            async def watch():
                while True:
                    peak["queued"] = max(peak["queued"], srv.gateway.gates["haiku+sonnet"].queued())
                    await asyncio.sleep(0.005)

            w = asyncio.ensure_future(watch())
            res = await asyncio.gather(*[one(i) for i in range(6)])
            w.cancel()
            return res

    res = asyncio.run(run())
    assert [s for s, _ in res] == [200] * 6, res
    assert all(d["usage"]["completion_tokens"] == 300 for _, d in res)
    assert peak["queued"] > 0  # they did not all fit at once: some waited


def _text_anthropic(lines):
    out = []
    for line in lines:
        if line.startswith("data:"):
            d = json.loads(line[5:])
            if d.get("type") == "content_block_delta" and d["delta"].get("type") == "text_delta":
                out.append(d["delta"]["text"])
    return "".join(out)


def _text_openai(lines):
    out = []
    for line in lines:
        if line.startswith("data:") and "[DONE]" not in line:
            for ch in json.loads(line[5:]).get("choices", []):
                out.append(ch.get("delta", {}).get("content") or "")
    return "".join(out)


def test_streamed_text_equals_direct(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model, scratch=False)
    srv = gateway(prof)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200
    direct = engine_status(srv).base_url
    kw = {"chat_template_kwargs": {"enable_thinking": False}}  # what the gateway adds for haiku
    for path, body, text in (
        ("/v1/messages", {"model": "haiku", "max_tokens": 40, "temperature": 0, "top_k": 1,
                          "stream": True, "messages": MSG}, _text_anthropic),
        ("/v1/chat/completions", {"model": "local-haiku", "max_tokens": 40, "temperature": 0,
                                  "seed": 7, "stream": True, "messages": MSG}, _text_openai),
    ):
        got = {}
        for name, url, b in (("gateway", srv.url, body), ("direct", direct, {**body, **kw})):
            with httpx.stream("POST", url + path, json=b, timeout=120) as r:
                assert r.status_code == 200
                got[name] = text(sse_lines(r.read()))
        assert got["gateway"] == got["direct"] and got["gateway"], got


def test_aborted_stream_frees_its_slot(tmp_path, tiny_model, gateway):
    prof = shared_profile(tmp_path, tiny_model, scratch=False, haiku={"ctx_per_slot": 8192})
    srv = gateway(prof)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200
    base = engine_status(srv).base_url

    def busy_slots():
        return [s["id"] for s in httpx.get(f"{base}/slots", timeout=5).json()
                if s["is_processing"]]

    body = {"model": "local-haiku", "max_tokens": 8000, "ignore_eos": True, "stream": True,
            "messages": MSG}
    with httpx.Client(timeout=60) as c, c.stream("POST", f"{srv.url}/v1/chat/completions",
                                                 json=body) as r:
        chunks = r.iter_bytes()  # kept: a dropped generator would close the stream
        next(chunks)
        wait_until(busy_slots, 10, "a busy slot")
    # the client closed the connection: the gateway cancels upstream, the slot frees early
    wait_until(lambda: not busy_slots(), 10, "the slot to free")
    wait_until(lambda: status(srv)["in_flight"] == 0, 10, "the gateway to forget it")
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    predicted = next(float(line.split()[-1]) for line in metrics.splitlines()
                     if line.startswith("llamacpp:tokens_predicted_total"))
    assert predicted < 8000  # stopped long before max_tokens
    rows = wait_until(lambda: len(srv.gateway.ledger.rows) == 2 and srv.gateway.ledger.rows,
                      30, "the aborted stream's ledger row")
    assert rows[-1].status == 499 and rows[-1].stream


def test_unknown_model_errors_in_each_shape(tmp_path, tiny_model, gateway):
    srv = gateway(shared_profile(tmp_path, tiny_model))
    r = post(srv.url, "/v1/messages", {"model": "gpt-5", "max_tokens": 1, "messages": MSG})
    assert r.status_code == 404
    e = r.json()
    assert e["type"] == "error" and e["error"]["type"] == "not_found_error"
    assert "local-haiku" in e["error"]["message"]
    r = post(srv.url, "/v1/chat/completions", {"model": "gpt-5", "messages": MSG})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = post(srv.url, "/v1/chat/completions", {"messages": MSG})
    assert r.status_code == 404 and "None" in r.json()["error"]["message"]
    r = httpx.post(f"{srv.url}/v1/messages", content=b"{not json", timeout=10)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert srv.gateway.engines.swaps == 0  # nothing was started for bad requests


@pytest.mark.parametrize("stop_tiers", [False, True])
def test_stopping_the_gateway_keeps_or_stops_the_tiers(tmp_path, tiny_model, gateway, stop_tiers):
    srv = gateway(shared_profile(tmp_path, tiny_model), stop_tiers=stop_tiers)
    assert post(srv.url, "/v1/messages", {"model": "haiku", "max_tokens": 1,
                                          "messages": MSG}).status_code == 200
    pid = engine_status(srv).pid
    srv.stop()
    assert _alive(pid) is not stop_tiers  # default: still serving, for the next TierDeck
    states = {s.tier: s.state for s in srv.sup.status() if s.profile == "gw"}
    assert states["haiku+sonnet"] == ("stopped" if stop_tiers else "ready")
    assert bool(srv.sup.hub.registry.read()) is not stop_tiers  # listed while it runs
