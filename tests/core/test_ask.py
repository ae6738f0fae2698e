"""core.ask: the think splitter, reasoning_content deltas, figures and errors (the real-server
flow is tests/cli/test_ask_cli.py and tests/gui/views/test_try_it.py)."""

from __future__ import annotations

import pytest

from tierdeck.core.ask import TEXT, THINKING, ThinkSplitter


def run(pieces: list[str]) -> tuple[str, str]:
    s = ThinkSplitter()
    out = [p for piece in pieces for p in s.feed(piece)] + s.flush()
    return ("".join(t for k, t in out if k == THINKING), "".join(t for k, t in out if k == TEXT))


@pytest.mark.parametrize("pieces", [
    ["<think>plan it</think>\n\nHello there"],
    ["<think>", "plan", " it", "</think>", "\n\nHello", " there"],
    ["\n<th", "ink>plan it</thi", "nk>\n\nHello there"],
    list("<think>plan it</think>\n\nHello there"),  # one character at a time
])
def test_thinking_split_from_the_answer(pieces):
    assert run(pieces) == ("plan it", "Hello there")


def test_plain_answers_and_literal_tags_stay_text():
    assert run(["Hello", " world"]) == ("", "Hello world")
    assert run(["Use ", "<think>", " tags"]) == ("", "Use <think> tags")
    assert run(["<thin", "g>"]) == ("", "<thing>")


def test_unclosed_thinking_is_all_thinking():
    assert run(["<think>still going", " on </thi"]) == ("still going on </thi", "")


def _sse(deltas: list[dict], usage: dict | None = None) -> bytes:
    """A stream in llama-server's chunk shape (reasoning_content deltas, then usage/timings):
    the real servers here run SmolLM2, whose template never thinks."""
    import json

    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": usage or {}, "timings": {"predicted_per_second": 88.0}})
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def test_reasoning_content_is_thinking_and_figures_are_counted():
    import httpx

    from tierdeck.core.ask import AskTarget, ask

    seen = []
    body = _sse([{"role": "assistant", "content": None}, {"reasoning_content": "Paris is"},
                 {"reasoning_content": " in France."}, {"content": "Paris"}, {"content": "."}],
                usage={"completion_tokens": 4})
    sent = {}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.update(json=__import__("json").loads(request.content), auth=request.headers.get("authorization"))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        r = ask(AskTarget("http://t", "m", api_key="k"), "capital?", thinking=True,
                on_delta=lambda k, t: seen.append((k, t)), client=client)
    assert (r.thinking, r.text) == ("Paris is in France.", "Paris.")
    assert seen[0] == (THINKING, "Paris is") and seen[-1] == (TEXT, ".")
    assert r.tokens == 4 and r.ttft_s is not None and r.server_gen_tps == 88.0
    assert sent["json"]["chat_template_kwargs"] == {"enable_thinking": True}
    assert sent["json"]["stream"] is True and sent["auth"] == "Bearer k"


def test_http_errors_are_one_line():
    import httpx

    from tierdeck.core.ask import AskError, AskTarget, ask

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "the request exceeds the context"}})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client, \
            pytest.raises(AskError, match="HTTP 400: the request exceeds the context"):
        ask(AskTarget("http://t", "m"), "x", client=client)
