"""Passing one request to its upstream and the answer back to the client, chunk by chunk.

Bodies are not re-encoded on the way back: llama-server's bytes (SSE events or JSON) go
to the client as they arrive, and only a copy of a stream's head and tail is kept for the
token counts. Headers sent before the upstream answered (an Anthropic stream that waited
for a swap or a queue got `ping` events) mean an upstream error arrives as an `error`
event instead of a status code.

One repair: llama-server (b11434) sends an Anthropic stream's `message_start` together with
the first token's text, so an answer whose first tokens decode to nothing (a partial UTF-8
byte, a special token) has no `message_start` at all, and the official SDKs then fail to
build the message. For a local engine's Anthropic stream the gateway puts one in front,
with the prompt's size counted by the engine (clients such as Claude Code read
`input_tokens` there to know how full the context is).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from tierdeck.core.gateway.errors import error_body, sse_error
from tierdeck.core.gateway.usage import StreamTap, Usage, from_body

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
# Response headers that describe the upstream connection, not the body we pass on.
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
       "proxy-authenticate", "proxy-authorization", "te", "trailer", "upgrade", "date",
       "server"}


class Out:
    """The client side of one response: whether headers went out, whether it has ended."""

    __slots__ = ("send", "started", "done", "status")

    def __init__(self, send):
        self.send = send
        self.started = False
        self.done = False
        self.status = 0

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        self.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def chunk(self, data: bytes) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self, data: bytes = b"") -> None:
        self.done = True  # before the send: the disconnect watcher must not cancel us now
        await self.send({"type": "http.response.body", "body": data, "more_body": False})

    async def json(self, status: int, data: bytes) -> None:
        await self.start(status, [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(data)).encode())])
        await self.end(data)

    async def error(self, api: str, status: int, message: str) -> None:
        if self.done:
            return
        if self.started:  # a stream already under way: say it in the stream
            await self.end(sse_error(message, status) if api == "anthropic" else
                           b"data: " + error_body(api, status, message) + b"\n\n")
        else:
            await self.json(status, error_body(api, status, message))


@dataclass
class Result:
    status: int = 0
    usage: Usage | None = None
    ttft_ms: float | None = None


def _headers(resp: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in resp.headers.raw if k.decode().lower() not in HOP]


def message_start(model: str, input_tokens: int) -> bytes:
    """The Anthropic stream's opening event, for a stream that lacks one (see the module doc).
    input_tokens: the whole prompt (llama-server's own event splits off the cached part);
    the closing message_delta carries the output count."""
    msg = {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant",
           "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
           "usage": {"input_tokens": input_tokens, "output_tokens": 0}}
    data = json.dumps({"type": "message_start", "message": msg}, separators=(",", ":"))
    return f"event: message_start\ndata: {data}\n\n".encode()


def _opens_message(head: bytes) -> bool:
    """Whether a stream's first event is message_start (or an error, left as it is)."""
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith((b"event: message_start", b"event: error", b"event: ping"))


async def forward(client: httpx.AsyncClient, out: Out, api: str, url: str, body: bytes,
                  headers: list[tuple[str, str]], stream: bool, t0: float,
                  opening: Callable[[], Awaitable[bytes]] | None = None) -> Result:
    """POST body to url; pass the answer on. Cancelling this closes the upstream request
    (llama-server then stops generating and frees the slot). opening: for an Anthropic
    stream from llama-server, makes the message_start it is given when it has none."""
    req = client.build_request("POST", url, content=body, headers=headers)
    try:
        resp = await client.send(req, stream=True)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        # A pooled connection died under us (the server closed it idle, or a swapped-out
        # server had the same port): no answer came, so ask once more on a fresh one.
        req = client.build_request("POST", url, content=body, headers=headers)
        resp = await client.send(req, stream=True)
    res = Result(status=resp.status_code)
    try:
        if not stream or resp.status_code != 200:
            raw = await resp.aread()
            res.usage = from_body(raw) if resp.status_code == 200 else Usage()
            if out.started:  # pings went out: the answer must be an event
                if resp.status_code == 200:
                    await out.end(raw)
                else:
                    await out.error(api, resp.status_code, _message(raw))
                return res
            await out.start(resp.status_code, _headers(resp))
            await out.end(raw)
            return res
        tap = StreamTap()
        if not out.started:
            await out.start(200, _headers(resp))
        head = b"" if opening is not None else None  # until the first line is whole
        async for chunk in resp.aiter_raw():
            if res.ttft_ms is None:
                res.ttft_ms = (time.perf_counter() - t0) * 1000
            if head is not None:
                head += chunk
                if b"\n" not in head.lstrip():
                    continue
                chunk = head if _opens_message(head) else await opening() + head
                head = None
            tap.feed(chunk)
            await out.chunk(chunk)
            # A write does not yield; upstream chunks may be buffered: let the loop run so a
            # client that left is noticed (and this request cancelled) before the next one.
            await asyncio.sleep(0)
        if head:  # the stream ended inside its first line
            await out.chunk(head)
        res.usage = tap.usage()
        await out.end()
        return res
    finally:
        await resp.aclose()


def _message(raw: bytes) -> str:
    try:
        d = json.loads(raw)
        err = d.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err or d)
    except (ValueError, AttributeError):
        return raw[:500].decode(errors="replace")
