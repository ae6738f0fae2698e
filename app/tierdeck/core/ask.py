"""Send one prompt to a tier and stream the answer back: the "Try it" box and `tierdeck ask`.

Streams over httpx from the OpenAI-style /v1/chat/completions of the tier's llama-server.
Thinking arrives apart from the answer: llama-server splits it into `reasoning_content`
deltas when the chat template has a thinking block; a server started with
`--reasoning-format none` leaves `<think>…</think>` inline, and ThinkSplitter moves that
to the thinking side too. The figures are the client's own: time to first token from the
request's start, and generation tokens/s from the first to the last token (the server's
own `timings` are kept beside them when it sends them).

Blocking: ask() reads the stream on the calling thread; callers off the UI thread only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tierdeck.core.profiles import Tier

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
THINKING, TEXT = "thinking", "text"


class AskError(Exception):
    """A prompt that could not be answered, said in one line (not running, HTTP error, …)."""


class AskCancelled(AskError):
    pass


@dataclass(frozen=True)
class AskTarget:
    url: str  # base URL, without /v1
    model: str  # the name sent as "model"
    api_key: str | None = None
    via: str = "server"  # "server" (the tier's own llama-server) | "gateway"


def ask_target(tier: Tier, host: str | None, port: int | None, alias: str = "",
               gateway=None) -> AskTarget:
    """Where a prompt for this tier goes: through the gateway when one runs for the tier's
    profile (`gateway`: its GatewayRecord; the tier's own settings, thinking included, then
    apply and the request is counted in the usage ledger), else the tier's running server
    (host, port, alias from its status or registry entry)."""
    if tier.is_remote:
        raise AskError(f"{tier.name} is a remote tier ({tier.base_url}): ask it with its own client")
    if gateway is not None:
        from tierdeck.core.gateway.control import TOKEN_ENV  # noqa: PLC0415

        key = os.environ.get(TOKEN_ENV) if gateway.token_required else None
        if gateway.token_required and not key:
            raise AskError(f"the gateway at {gateway.url} wants a token: set {TOKEN_ENV}")
        return AskTarget(gateway.url, tier.name, key, via="gateway")
    if not port:
        raise AskError(f"{tier.name} is not running: start it first")
    return AskTarget(f"http://{host or '127.0.0.1'}:{port}", alias or tier.alias, tier.api_key)


@dataclass
class AskResult:
    text: str = ""
    thinking: str = ""
    ttft_s: float | None = None  # request sent -> first token (thinking or text)
    tokens: int = 0  # generated tokens (the server's count when it reports usage)
    gen_tps: float | None = None  # tokens/s between the first and the last token
    total_s: float = 0.0
    finish_reason: str | None = None
    server_gen_tps: float | None = None  # llama-server's own timings.predicted_per_second
    model: str = ""

    def summary(self) -> str:
        parts = [f"{self.tokens} tokens"]
        if self.ttft_s is not None:
            parts.insert(0, f"first token {self.ttft_s * 1000:.0f} ms")
        if self.gen_tps is not None:
            parts.append(f"{self.gen_tps:.1f} tok/s")
        parts.append(f"{self.total_s:.1f} s")
        return " · ".join(parts)


class ThinkSplitter:
    """Routes a leading inline <think>…</think> block to the thinking side. Tags may be cut
    across deltas, so text that could still become a tag is held until the next delta."""

    def __init__(self) -> None:
        self.mode = "start"  # start -> think -> text, or start -> text
        self._held = ""
        self._after_think = False  # the blank lines after </think> are not part of the answer

    def feed(self, text: str) -> list[tuple[str, str]]:
        buf, self._held, out = self._held + text, "", []
        if self.mode == "start":
            head = buf.lstrip()
            if head.startswith(THINK_OPEN):
                self.mode, buf = "think", head[len(THINK_OPEN):]
            elif THINK_OPEN.startswith(head):
                self._held = buf  # blanks or part of "<think>" so far
                return []
            else:
                self.mode = "text"
        if self.mode == "think":
            i = buf.find(THINK_CLOSE)
            if i < 0:
                keep = _partial_suffix(buf, THINK_CLOSE)
                body, self._held = (buf[:-keep], buf[-keep:]) if keep else (buf, "")
                return [(THINKING, body)] if body else []
            out.append((THINKING, buf[:i]))
            self.mode, buf, self._after_think = "text", buf[i + len(THINK_CLOSE):], True
        if self._after_think:
            buf = buf.lstrip("\n")
            self._after_think = not buf
        out.append((TEXT, buf))
        return [(k, t) for k, t in out if t]

    def flush(self) -> list[tuple[str, str]]:
        held, self._held = self._held, ""
        return [(THINKING if self.mode == "think" else TEXT, held)] if held.strip() else []


def _partial_suffix(buf: str, tag: str) -> int:
    for n in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:n]):
            return n
    return 0


def ask(target: AskTarget, prompt: str, *, max_tokens: int = 512, thinking: bool | None = None,
        temperature: float | None = None,
        on_delta: Callable[[str, str], None] | None = None, cancel: threading.Event | None = None,
        timeout_s: float = 300.0, client: httpx.Client | None = None) -> AskResult:
    """Stream one chat completion. on_delta(kind, text) gets each piece as it arrives
    (kind "thinking" or "text"); the result holds the whole answer and its figures."""
    body: dict = {
        "model": target.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if temperature is not None:
        body["temperature"] = temperature
    if thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": thinking}
    headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
    res = AskResult(model=target.model)
    split = ThinkSplitter()
    deltas = 0
    first = last = None
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0))
    t0 = time.monotonic()

    def emit(pieces: list[tuple[str, str]]) -> None:
        for kind, text in pieces:
            if kind == THINKING:
                res.thinking += text
            else:
                res.text += text
            if on_delta is not None:
                on_delta(kind, text)

    try:
        with client.stream("POST", f"{target.url}/v1/chat/completions", json=body,
                           headers=headers) as r:
            if r.status_code != 200:
                raise AskError(f"{target.url} answered HTTP {r.status_code}: {_error_text(r)}")
            for line in r.iter_lines():
                if cancel is not None and cancel.is_set():
                    raise AskCancelled("cancelled")
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    raise AskError(f"{target.url}: {_message(chunk['error'])}")
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    pieces = []
                    if delta.get("reasoning_content"):
                        pieces.append((THINKING, delta["reasoning_content"]))
                    if delta.get("content"):
                        pieces += split.feed(delta["content"])
                    if delta.get("reasoning_content") or delta.get("content"):
                        last = time.monotonic()
                        first = first or last
                        deltas += 1
                    emit(pieces)
                    res.finish_reason = choice.get("finish_reason") or res.finish_reason
                usage = chunk.get("usage") or {}
                if usage.get("completion_tokens"):
                    res.tokens = int(usage["completion_tokens"])
                timings = chunk.get("timings") or {}
                if timings.get("predicted_per_second"):
                    res.server_gen_tps = float(timings["predicted_per_second"])
    except httpx.ConnectError as e:
        raise AskError(f"cannot reach {target.url} ({e}): is the tier running?") from None
    except httpx.TimeoutException:
        raise AskError(f"{target.url} sent nothing for {timeout_s:.0f} s") from None
    except json.JSONDecodeError as e:
        raise AskError(f"{target.url} sent a stream that is not JSON: {e}") from None
    finally:
        if own:
            client.close()
    emit(split.flush())
    res.total_s = time.monotonic() - t0
    res.tokens = res.tokens or deltas
    if first is not None:
        res.ttft_s = first - t0
        if last is not None and last > first and res.tokens > 1:
            # n tokens after the first one arrived over (last - first) seconds
            res.gen_tps = (res.tokens - 1) / (last - first)
    return res


def _message(err: object) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


def _error_text(r: httpx.Response) -> str:
    try:
        r.read()
        return _message(r.json().get("error", r.text))
    except (ValueError, AttributeError):
        return r.text[:300]
