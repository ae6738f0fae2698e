"""Running the gateway: a socket, uvicorn, a Supervisor, and the gateway.json record.

uvicorn serves the plain ASGI app (app.Gateway): a well-kept server whose HTTP/1.1 and
shutdown handling we need not write, fast enough for a ~1 ms hop, and the standard way to
run ASGI. We bind the socket ourselves: a taken port fails here with a clear message, and
port 0 (tests, benches) gets a free port we know before serving.

In the foreground (`tierdeck gateway`), uvicorn turns SIGINT/SIGTERM into a graceful stop:
open streams get a few seconds, then the process exits. The tiers keep running (the next
TierDeck adopts them) unless it was started with stop_tiers: then it stops its profile's
servers on the way out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time

import uvicorn

from tierdeck.core.gateway.app import Gateway
from tierdeck.core.gateway.control import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    TOKEN_ENV,
    GatewayRecord,
    remove_record,
    write_record,
)
from tierdeck.core.profiles.schema import Profile
from tierdeck.core.servers.urls import base_url

log = logging.getLogger(__name__)


class GatewayConfigError(Exception):
    """Settings the gateway refuses to start with (an open bind without a token, a taken port)."""


def is_loopback(host: str) -> bool:
    """servers.urls.is_loopback, the one rule (this name kept for importers)."""
    from tierdeck.core.servers.urls import is_loopback as loopback  # noqa: PLC0415

    return loopback(host)


def bind(host: str, port: int) -> socket.socket:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say TCP,
    # and without it a JSON answer's body waits for the client's delayed ACK of the headers
    # (+40 ms a request on the standard loop; uvloop sets it regardless).
    sock = socket.socket(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise GatewayConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(512)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame) -> None:
        """Stop gracefully, then return normally: uvicorn would re-raise the signal after
        shutdown, killing the process (SIGTERM) before the record and ledger are closed."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: do not wait for open streams
        else:
            self.should_exit = True


class GatewayServer:
    def __init__(self, profile: Profile, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 token: str | None = None, supervisor=None, ledger=None,
                 record: bool = True, stop_tiers: bool = False, **gateway_kw):
        if not is_loopback(host) and not token:
            raise GatewayConfigError(
                f"binding {host} opens the gateway to the network: give it a token "
                f"(--token or {TOKEN_ENV}); clients then send it as their API key")
        self.profile = profile
        self.host = host
        self.token = token
        self.sock = bind(host, port)
        self.port = self.sock.getsockname()[1]
        self.url = base_url(host, self.port)
        self._own_sup = supervisor is None
        if supervisor is None:
            from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415

            supervisor = Supervisor()
        self.sup = supervisor
        self.ledger = ledger
        self.record = record
        self.stop_tiers = stop_tiers
        self.gateway = Gateway(profile, supervisor, ledger=ledger, token=token, url=self.url,
                               **gateway_kw)
        cfg = uvicorn.Config(self.gateway, log_level="warning", access_log=False,
                             lifespan="on", timeout_graceful_shutdown=5, server_header=False,
                             date_header=False, interface="asgi3",
                             proxy_headers=False)  # no X-Forwarded-* rewriting: local hop
        self.server = _Server(cfg)
        self._thread: threading.Thread | None = None

    def _record(self) -> None:
        if not self.record:
            return
        import psutil  # noqa: PLC0415

        pid = os.getpid()
        write_record(GatewayRecord(
            pid=pid, create_time=psutil.Process(pid).create_time(), host=self.host,
            port=self.port, profile=self.profile.name, url=self.url,
            token_required=self.token is not None, started_at=self.gateway.started_at))

    def run(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM (main thread) or stop()."""
        self._record()
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self._cleanup()

    def start(self) -> GatewayServer:
        """Serve in a background thread (tests, benches); returns once it answers."""
        self._thread = threading.Thread(target=self.run, name="tierdeck-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise GatewayConfigError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _cleanup(self) -> None:
        if self.record:
            remove_record(os.getpid())
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.stop_tiers:
            try:
                for st in self.sup.down(None, self.profile.name):
                    log.info("stopped %s (%s)", st.tier, st.state)
            except Exception:  # still close the supervisor, record and ledger below
                log.exception("stopping the profile's tiers failed")
        if self._own_sup:
            self.sup.close()  # what still runs keeps running: the next TierDeck adopts it
        close = getattr(self.ledger, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
