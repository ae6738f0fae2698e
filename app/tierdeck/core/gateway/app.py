"""The gateway's ASGI application: routes, auth, body limit, and the path of one request.

A plain ASGI callable rather than a framework: the request path is read body -> parse the
JSON once -> map the model to a tier -> apply the tier -> wait for the engine and a place
in its queue (fast path: no waiting, no extra tasks) -> pass bytes through. That keeps the
added latency near the cost of one local HTTP hop.

Concurrency: everything runs on the event loop thread (no locks). A request runs as a
task raced against a watcher of the client connection: a client that goes away cancels
the task, which closes the upstream request, so llama-server frees the slot at once.
Prompts, bodies and auth headers are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time

import httpx

from tierdeck.core.gateway import proxy
from tierdeck.core.gateway.admission import EngineGate, TooBig
from tierdeck.core.gateway.apply import apply_tier, max_tokens_of
from tierdeck.core.gateway.engines import EngineSet, EngineState, EngineUnavailable
from tierdeck.core.gateway.errors import GatewayError
from tierdeck.core.gateway.ledger import RequestRecord
from tierdeck.core.gateway.names import ModelMap
from tierdeck.core.gateway.proxy import Out
from tierdeck.core.gateway.status import models_doc, status_doc
from tierdeck.core.gateway.upstream import count_tokens, remote_headers, upper_bound
from tierdeck.core.profiles.schema import Profile, Tier

log = logging.getLogger(__name__)
MAX_BODY = 32 * 1024 * 1024  # Claude Code sends whole conversations (and images): roomy
ROUTES = {
    ("POST", "/v1/messages"): "anthropic",
    ("POST", "/v1/messages/count_tokens"): "anthropic",
    ("POST", "/v1/chat/completions"): "openai",
    ("POST", "/v1/completions"): "openai",
}


def _client() -> httpx.AsyncClient:
    # llama-server (cpp-httplib) drops idle keep-alive connections after 5 s: expire ours
    # sooner, or a request may go out on a socket the server is closing.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(None, connect=10.0), trust_env=False,
        limits=httpx.Limits(max_connections=512, max_keepalive_connections=64,
                            keepalive_expiry=2.0))


class Gateway:
    def __init__(self, profile: Profile, supervisor, *, ledger=None, token: str | None = None,
                 url: str = "", max_body: int = MAX_BODY, drain_timeout_s: float = 30.0,
                 ping_interval_s: float = 2.0):
        self.profile = profile
        self.sup = supervisor
        self.ledger = ledger  # anything with record(RequestRecord); None: no ledger
        self.token = token.encode() if token else None
        self.url = url
        self.max_body = max_body
        self.drain_timeout_s = drain_timeout_s
        self.ping_interval_s = ping_interval_s
        self.started_at = time.time()
        self.names = ModelMap(profile)
        self.gates: dict[str, EngineGate] = {}
        for t in profile.tiers.values():
            if not t.is_remote:
                g = self.gates.setdefault(profile.engine_of(t.name), EngineGate(limits={}))
                g.limits[t.name] = t.parallel
        self.requests: dict[str, int] = dict.fromkeys(profile.tiers, 0)
        self.requests_total = 0
        self.engines: EngineSet | None = None
        self.http: httpx.AsyncClient | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}

    # ---- lifecycle -----------------------------------------------------------------------
    async def startup(self) -> None:
        self.http = _client()  # remote tiers
        self.engines = EngineSet(self.profile, self.sup, self.drain_timeout_s,
                                 busy=lambda e: self.gates[e].busy() if e in self.gates else 0,
                                 before_stop=self._drop_connections)
        self.engines.on_change.append(self._engine_changed)
        for name, es in self.engines.states.items():
            self._engine_changed(name, es)

    async def shutdown(self) -> None:
        if self.engines is not None:
            self.engines.close()
        for c in [self.http, *self._clients.values()]:
            if c is not None:
                await c.aclose()

    def _upstream(self, engine: str) -> httpx.AsyncClient:
        """One connection pool per engine: a swap can close an engine's idle keep-alive
        connections (llama-server is slow to exit on SIGTERM while one is open)."""
        c = self._clients.get(engine)
        if c is None:
            c = self._clients[engine] = _client()
        return c

    async def _drop_connections(self, engine: str) -> None:
        c = self._clients.pop(engine, None)
        if c is not None:
            await c.aclose()

    def _engine_changed(self, engine: str, es: EngineState) -> None:
        g = self.gates.get(engine)
        if g is not None and es.state == "ready":
            g.set_pool(es.pool)

    # ---- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        out = Out(send)
        api = ROUTES.get((method, path))
        if api is None:
            await self._simple(scope, method, path, out)
            return
        try:
            self._check_token(scope)
            raw = await self._read_body(scope, receive)
        except GatewayError as e:
            await out.error(api, e.status, e.message)
            return
        work = asyncio.ensure_future(self._serve(scope, out, api, path, raw))
        gone = asyncio.ensure_future(receive())  # the body is read: next is a disconnect
        await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
        if not work.done() and not out.done:
            work.cancel()  # the client left: close the upstream request, free the slot
        else:
            gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work

    async def _lifespan(self, receive, send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _simple(self, scope, method: str, path: str, out: Out) -> None:
        if method == "GET" and path == "/health":
            await out.json(200, b'{"status":"ok"}')
            return
        api = "anthropic" if path.startswith("/v1/messages") else "openai"
        try:
            if path != "/health":
                self._check_token(scope)
        except GatewayError as e:
            await out.error(api, e.status, e.message)
            return
        if method == "GET" and path == "/v1/models":
            await out.json(200, json.dumps(models_doc(self)).encode())
        elif method == "GET" and path == "/tierdeck/status":
            await out.json(200, json.dumps(status_doc(self)).encode())
        else:
            await out.error(api, 404, f"no route {method} {path} (the gateway serves "
                            "/v1/messages, /v1/messages/count_tokens, /v1/chat/completions, "
                            "/v1/completions, /v1/models, /health, /tierdeck/status)")

    def _check_token(self, scope) -> None:
        if self.token is None:
            return
        for k, v in scope["headers"]:
            if k == b"x-api-key" and hmac.compare_digest(v, self.token):
                return
            if k == b"authorization" and v[:7].lower() == b"bearer " \
                    and hmac.compare_digest(v[7:].strip(), self.token):
                return
        raise GatewayError(401, "this gateway needs its token as the API key "
                                "(x-api-key or Authorization: Bearer)")

    async def _read_body(self, scope, receive) -> bytes:
        for k, v in scope["headers"]:
            if k == b"content-length" and v.isdigit() and int(v) > self.max_body:
                raise GatewayError(413, f"request body over {self.max_body} bytes")
        parts: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise GatewayError(400, "client went away")
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise GatewayError(413, f"request body over {self.max_body} bytes")
            parts.append(chunk)
            if not msg.get("more_body"):
                return parts[0] if len(parts) == 1 else b"".join(parts)

    # ---- one request ---------------------------------------------------------------------
    async def _serve(self, scope, out: Out, api: str, path: str, raw: bytes) -> None:
        t0 = time.perf_counter()
        rec = RequestRecord(ts=0.0, tier="", model="", engine="", api=api, status=0,
                            prompt_tokens=0, cached_tokens=0, completion_tokens=0,
                            ttft_ms=None, duration_ms=0.0, stream=False)
        try:
            await self._route(scope, out, api, path, raw, rec, t0)
        except GatewayError as e:
            rec.status = e.status
            await out.error(api, e.status, e.message)
        except EngineUnavailable as e:
            rec.status = 503
            await out.error(api, 503, str(e))
        except httpx.HTTPError as e:
            rec.status = 502
            await out.error(api, 502, f"upstream error: {type(e).__name__}: {e}")
        except asyncio.CancelledError:
            rec.status = 499  # the client closed the connection
            raise
        finally:
            if rec.tier and not path.endswith("/count_tokens"):
                rec.ts = time.time()
                rec.duration_ms = (time.perf_counter() - t0) * 1000
                if self.ledger is not None:
                    try:
                        self.ledger.record(rec)
                    except Exception:  # the ledger must never break a request
                        log.exception("ledger record failed")

    async def _route(self, scope, out: Out, api: str, path: str, raw: bytes,
                     rec: RequestRecord, t0: float) -> None:
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise GatewayError(400, f"request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise GatewayError(400, "request body must be a JSON object")
        model = body.get("model")
        tier_name = self.names.resolve(model)
        if tier_name is None:
            raise GatewayError(404, f"model {model!r} is not served here (profile "
                               f"{self.profile.name}; known: {', '.join(self.names.known())})")
        tier = self.profile.tiers[tier_name]
        stream = body.get("stream") is True
        rec.tier, rec.model, rec.stream = tier_name, str(model), stream
        if not path.endswith("/count_tokens"):  # counting is not a request for the tier
            self.requests[tier_name] += 1
            self.requests_total += 1
        query = scope.get("query_string") or b""
        suffix = path + ("?" + query.decode("latin-1") if query else "")
        if tier.is_remote:
            rec.engine = tier_name
            body["model"] = tier.model
            hdrs = remote_headers(scope["headers"], tier, api, self.token is not None)
            url = (tier.base_url or "").rstrip("/") + suffix
            res = await proxy.forward(self.http, out, api, url, json.dumps(body).encode(),
                                      hdrs, stream, t0)
            self._finish(rec, res)
            return
        engine = self.profile.engine_of(tier_name)
        rec.engine = engine
        apply_tier(body, tier, api)
        pings = api == "anthropic" and stream
        es = self.engines.ready(engine) or await self._waiting(
            self.engines.ensure_ready(engine), out, pings)
        headers = [("content-type", "application/json")]
        if es.api_key:
            headers.append(("authorization", f"Bearer {es.api_key}"))
        data = json.dumps(body).encode()
        url = es.base_url + suffix
        if path.endswith("/count_tokens"):
            res = await proxy.forward(self._upstream(engine), out, api, url, data, headers,
                                      False, t0)
            return
        ticket, data = await self._admit(engine, tier, body, api, data, es, headers, out, pings)
        gate = self.gates[engine]
        try:
            res = await proxy.forward(self._upstream(engine), out, api, url, data, headers,
                                      stream, t0, opening=self._opening(engine, es, body,
                                                                        headers, rec.model)
                                      if api == "anthropic" and stream else None)
        finally:
            gate.release(ticket)
            self.engines.request_done()
        self._finish(rec, res)

    def _opening(self, engine: str, es: EngineState, body: dict, headers, model: str):
        """The message_start for an Anthropic stream llama-server opened without one."""
        async def make() -> bytes:
            n = await count_tokens(self._upstream(engine), es.base_url, "anthropic", body,
                                   headers)
            return proxy.message_start(model, n or 0)  # 0: the engine could not say
        return make

    def _finish(self, rec: RequestRecord, res: proxy.Result) -> None:
        rec.status = res.status
        rec.ttft_ms = res.ttft_ms
        if res.usage is not None:
            rec.prompt_tokens = res.usage.prompt
            rec.cached_tokens = res.usage.cached
            rec.completion_tokens = res.usage.completion

    async def _admit(self, engine: str, tier: Tier, body: dict, api: str, data: bytes,
                     es: EngineState, headers, out: Out, pings: bool):
        gate = self.gates[engine]
        tokens = 0
        if gate.pool is not None:
            gen = max_tokens_of(body, api)
            if gen is None:  # generation bounded by nothing but the pool: bound it
                gen = max(1, (tier.ctx_per_slot or gate.pool // max(1, sum(gate.limits.values())))
                          - upper_bound(data))
                body["max_tokens"] = gen
                data = json.dumps(body).encode()
            tokens = upper_bound(data) + gen
            if gate.would_wait(tier.name, tokens):
                # the byte bound is loose: an exact count may let it in now
                exact = await count_tokens(self._upstream(engine), es.base_url, api, body,
                                           headers)
                if exact is not None:
                    tokens = exact + gen
        try:
            ticket = gate.try_admit(tier.name, tokens)
            if ticket is None:
                ticket = gate.enqueue(tier.name, tokens)
        except TooBig as e:
            raise GatewayError(400, str(e)) from None
        if not ticket.admitted:
            try:
                await self._waiting(gate.wait(ticket), out, pings)
            except BaseException:
                gate.release(ticket)  # admitted just as we were cancelled: give it back
                raise
        return ticket, data

    async def _waiting(self, aw, out: Out, pings: bool):
        """Await aw; an Anthropic stream meanwhile gets its headers and a ping every few s."""
        if not pings:
            return await aw
        task = asyncio.ensure_future(aw)
        try:
            while True:
                done, _ = await asyncio.wait((task,), timeout=self.ping_interval_s)
                if done:
                    return task.result()
                if not out.started:
                    await out.start(200, list(proxy.SSE_HEADERS))
                await out.chunk(proxy.PING)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
