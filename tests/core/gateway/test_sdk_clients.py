"""The official anthropic and openai SDKs as the gateway's clients, on a real llama-server."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.core.gateway.conftest import shared_profile, wait_until

pytestmark = pytest.mark.usefixtures("llama_server_bin")
MSG = [{"role": "user", "content": "hello"}]


def test_a_stream_llama_server_opens_without_message_start_still_reaches_the_sdk(
        tmp_path, tiny_model, gateway):
    """llama-server b11434 sends message_start with the first token's text: when the first
    tokens decode to nothing, its stream has no message_start and the SDK cannot build the
    message. With a fixed --seed the tiny model does that for some prompts: find one against
    the engine directly, then the same request through the gateway works in the SDK."""
    srv = gateway(shared_profile(tmp_path, tiny_model, scratch=False,
                                 extra_args=["--seed", "7"]))
    c = anthropic.Anthropic(base_url=srv.url, api_key="not-checked", max_retries=0)
    c.messages.create(model="haiku", max_tokens=1, messages=MSG)  # the engine is up now
    engine = srv.sup.get("haiku+sonnet", "gw").base_url
    bare = None
    for i in range(40):
        body = {"model": "x", "max_tokens": 2, "stream": True,
                "chat_template_kwargs": {"enable_thinking": False},  # what haiku sends
                "messages": [{"role": "user", "content": f"word {i}"}]}
        r = httpx.post(f"{engine}/v1/messages", json=body, timeout=30)
        if "event: message_start" not in r.text:
            bare = body["messages"]
            break
    assert bare is not None, "no prompt gave llama-server's stream without message_start"
    with c.messages.stream(model="haiku", max_tokens=2, messages=bare) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 2
    assert final.model == "haiku" and "".join(b.text for b in final.content) == text
    # the opening says the prompt's size, as the engine counts haiku's rendering of it
    counted = httpx.post(f"{engine}/v1/messages/count_tokens", timeout=30, json={
        "model": "x", "messages": bare, "chat_template_kwargs": {"enable_thinking": False}})
    assert final.usage.input_tokens == counted.json()["input_tokens"] > 0
    rows = wait_until(lambda: len(srv.gateway.ledger.rows) == 2 and srv.gateway.ledger.rows,
                      30, "the stream's ledger row")  # recorded once the answer has gone out
    assert rows[-1].prompt_tokens == final.usage.input_tokens


def test_anthropic_sdk(tmp_path, tiny_model, gateway):
    srv = gateway(shared_profile(tmp_path, tiny_model, scratch=False))
    c = anthropic.Anthropic(base_url=srv.url, api_key="not-checked", max_retries=0)
    m = c.messages.create(model="claude-haiku-4-5-20251001", max_tokens=3, messages=MSG)
    assert m.type == "message" and m.usage.output_tokens == 3 and m.content[0].type == "text"
    with c.messages.stream(model="claude-sonnet-4-5", max_tokens=3, messages=MSG) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert "".join(b.text for b in final.content) == text  # gibberish may decode to nothing
    n = c.messages.count_tokens(model="claude-haiku-4-5", messages=MSG)
    assert n.input_tokens > 0
    with pytest.raises(anthropic.NotFoundError) as ei:
        c.messages.create(model="claude-instant-1", max_tokens=3, messages=MSG)
    assert "local-haiku" in str(ei.value)
    models = c.models.list()
    assert "local-haiku" in [m.id for m in models.data]


def test_openai_sdk(tmp_path, tiny_model, gateway):
    srv = gateway(shared_profile(tmp_path, tiny_model, scratch=False))
    c = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="not-checked", max_retries=0)
    r = c.chat.completions.create(model="local-haiku", max_tokens=3, messages=MSG)
    assert r.choices[0].message.role == "assistant" and r.usage.completion_tokens == 3
    chunks = list(c.chat.completions.create(model="local-sonnet", max_tokens=3, messages=MSG,
                                            stream=True))
    assert chunks and chunks[0].object == "chat.completion.chunk"
    r = c.completions.create(model="haiku", prompt="hello", max_tokens=3)
    assert r.choices[0].text is not None
    assert {"local-haiku", "local-sonnet"} <= {m.id for m in c.models.list()}
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="gpt-4o", max_tokens=3, messages=MSG)
