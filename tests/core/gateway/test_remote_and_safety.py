"""Remote tiers through a local stand-in for the cloud API; tokens, body limits, routes.

None of these need llama-server: a remote tier starts nothing, and refused requests are
answered before any engine is touched.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import uvicorn

from tests.core.gateway.conftest import Ledger, sse_lines, wait_until
from tests.core.servers.conftest import make_profile
from tierdeck.core.gateway.server import GatewayConfigError, GatewayServer, bind


class StandIn:
    """A cloud API stand-in: records what it got, answers in Anthropic shape."""

    def __init__(self):
        self.seen: list[dict] = []
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                                     interface="asgi3"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    async def app(self, scope, receive, send):
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        req = json.loads(body)
        self.seen.append({"path": scope["path"], "query": scope["query_string"],
                          "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                          "body": req})
        if req.get("stream"):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            for ev in ({"type": "message_start", "message": {"usage": {"input_tokens": 5}}},
                       {"type": "message_delta", "usage": {"output_tokens": 2}},
                       {"type": "message_stop"}):
                data = f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode()
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        out = json.dumps({"type": "message", "model": req["model"], "content": [],
                          "usage": {"input_tokens": 7, "output_tokens": 3}}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


class NoSupervisor:
    """A remote-only gateway never asks for a server; any call would be a bug."""

    def subscribe(self, cb):
        return lambda: None

    def status(self):
        return []

    def __getattr__(self, name):
        raise AssertionError(f"the supervisor was asked to {name}")


def remote_profile(tmp_path, base_url):
    return make_profile(tmp_path, {
        "opus": {"kind": "remote", "model": "claude-opus-4-7", "base_url": base_url,
                 "api_key_env": "TD_TEST_KEY"},
        "haiku": {"model": "builtin:demo"},
    }, name="rem")


def gw(profile, **kw):
    kw.setdefault("ledger", Ledger())
    return GatewayServer(profile, port=0, supervisor=NoSupervisor(), record=False, **kw)


def test_remote_passes_the_clients_auth_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("TD_TEST_KEY", "sk-from-env")
    with StandIn() as cloud, gw(remote_profile(tmp_path, cloud.url)) as srv:
        r = httpx.post(f"{srv.url}/v1/messages?beta=true", timeout=10,
                       headers={"x-api-key": "sk-ant-client", "anthropic-version": "2023-06-01",
                                "anthropic-beta": "x-1"},
                       json={"model": "claude-opus-4-1", "max_tokens": 5, "messages": []})
        assert r.status_code == 200 and r.json()["usage"]["output_tokens"] == 3
        got = cloud.seen[-1]
        assert got["path"] == "/v1/messages" and got["query"] == b"beta=true"
        assert got["headers"]["x-api-key"] == "sk-ant-client"  # the client's, not the env's
        assert got["headers"]["anthropic-beta"] == "x-1"
        assert got["body"]["model"] == "claude-opus-4-7"  # the tier's cloud model
        # Bearer auth (Claude Code's ANTHROPIC_AUTH_TOKEN) passes through the same way
        httpx.post(f"{srv.url}/v1/messages", timeout=10, headers={"authorization": "Bearer tok"},
                   json={"model": "opus", "max_tokens": 5, "messages": []})
        assert cloud.seen[-1]["headers"]["authorization"] == "Bearer tok"
        assert "x-api-key" not in cloud.seen[-1]["headers"]
        # no key from the client: the one named by api_key_env
        with httpx.stream("POST", f"{srv.url}/v1/messages", timeout=10, json={
                "model": "opus", "max_tokens": 5, "stream": True, "messages": []}) as s:
            events = [x for x in sse_lines(s.read()) if x.startswith("event:")]
        assert events == ["event: message_start", "event: message_delta", "event: message_stop"]
        assert cloud.seen[-1]["headers"]["x-api-key"] == "sk-from-env"
        # a row is recorded once the answer has gone out: the client may be ahead of it
        rows = wait_until(lambda: len(srv.gateway.ledger.rows) == 3 and srv.gateway.ledger.rows,
                          30, "three ledger rows")
        assert [(r.tier, r.status) for r in rows] == [("opus", 200)] * 3
        assert (rows[0].prompt_tokens, rows[0].completion_tokens) == (7, 3)
        assert (rows[2].prompt_tokens, rows[2].completion_tokens, rows[2].stream) == (5, 2, True)
        doc = httpx.get(f"{srv.url}/tierdeck/status", timeout=5).json()
        assert doc["tiers"]["opus"]["kind"] == "remote" and doc["tiers"]["opus"]["requests"] == 3
        assert doc["tiers"]["haiku"] == {"kind": "local", "engine": "haiku", "shared_with": [],
                                         "state": "stopped", "pid": None, "in_flight": 0,
                                         "queued": 0, "requests": 0}


def test_open_bind_needs_a_token_and_clients_send_it(tmp_path, monkeypatch):
    prof = remote_profile(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(GatewayConfigError, match="token"):
        GatewayServer(prof, host="0.0.0.0", port=0, supervisor=NoSupervisor(), record=False)
    monkeypatch.setenv("TD_TEST_KEY", "sk-from-env")
    with StandIn() as cloud:
        prof = remote_profile(tmp_path, cloud.url)
        with gw(prof, host="0.0.0.0", token="s3cret") as srv:
            url = srv.url
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # public
            r = httpx.post(f"{url}/v1/messages", timeout=5,
                           json={"model": "opus", "max_tokens": 1, "messages": []})
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
            r = httpx.post(f"{url}/v1/chat/completions", timeout=5,
                           headers={"authorization": "Bearer wrong"}, json={"model": "opus"})
            assert r.status_code == 401 and "token" in r.json()["error"]["message"]
            assert httpx.get(f"{url}/tierdeck/status", timeout=5).status_code == 401
            r = httpx.post(f"{url}/v1/messages", timeout=5, headers={"x-api-key": "s3cret"},
                           json={"model": "opus", "max_tokens": 1, "messages": []})
            assert r.status_code == 200
            # the gateway's token is not a key for the cloud: the env's key goes instead
            assert cloud.seen[-1]["headers"]["x-api-key"] == "sk-from-env"
            assert cloud.seen == cloud.seen[-1:]  # refused requests never reached it


def test_body_limit_and_unknown_route(tmp_path):
    with gw(remote_profile(tmp_path, "http://127.0.0.1:9"), max_body=1000) as srv:
        r = httpx.post(f"{srv.url}/v1/messages", timeout=5, content=b"x" * 2000)
        assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"

        def chunks():
            for _ in range(10):
                yield b"y" * 200

        r = httpx.post(f"{srv.url}/v1/chat/completions", timeout=5, content=chunks())
        assert r.status_code == 413 and "error" in r.json()
        r = httpx.get(f"{srv.url}/v1/nope", timeout=5)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_connections_to_the_gateway_socket_have_nodelay():
    """asyncio turns Nagle off only on sockets created as TCP: otherwise every JSON answer's
    body waited for the client's delayed ACK of the headers (+40 ms on the standard loop)."""
    import asyncio
    import socket

    async def accept_one() -> int:
        sock = bind("127.0.0.1", 0)
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        class Proto(asyncio.Protocol):
            def connection_made(self, transport):
                s = transport.get_extra_info("socket")
                got.set_result(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Proto, sock=sock)
        try:
            _, w = await asyncio.open_connection(*sock.getsockname())
            value = await asyncio.wait_for(got, 30)
            w.close()
            return value
        finally:
            server.close()

    assert asyncio.run(accept_one()) == 1
