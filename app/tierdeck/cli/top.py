"""`tierdeck top`: live tokens/s, slots and memory of every running tier, in the terminal."""

from __future__ import annotations

import json
import sys
import time
from urllib.parse import urlparse

from tierdeck.cli import CliError, user_settings
from tierdeck.core.metrics.target import Target

CLEAR = "\x1b[H\x1b[2J"


def register(sub) -> None:
    p = sub.add_parser(
        "top", help="live tokens/s, busy slots and memory of the running servers",
        description="Refreshing table of every running tier (from the server registry, or the "
        "--url targets). Ctrl-C quits.",
    )
    p.add_argument(
        "--url", action="append", default=[], metavar="NAME=URL",
        help="watch this server instead of the registry, e.g. haiku=http://127.0.0.1:18080 "
        "(repeatable; NAME=URL@PID also matches its memory)",
    )
    p.add_argument("--interval", type=float, default=None, metavar="S",
                   help="seconds between samples (default: the setting, 1)")
    p.add_argument("--once", action="store_true",
                   help="print one reading (two samples apart, for the rates) and exit")
    p.add_argument("--json", action="store_true", help="machine-readable output (implies --once "
                   "unless --count is given)")
    p.add_argument("--count", type=int, default=None, metavar="N", help="stop after N readings")
    p.add_argument("--api-key", default=None, help="bearer key for --url servers started with --api-key")
    p.set_defaults(func=run)


def parse_url(spec: str, api_key: str | None = None) -> Target:
    name, sep, url = spec.partition("=")
    if not sep or not name or not url:
        raise CliError(f"--url {spec!r}: expected NAME=http://HOST:PORT")
    pid = None
    if "@" in url.rsplit("/", 1)[-1]:
        url, _, pid_s = url.rpartition("@")
        if not pid_s.isdigit():
            raise CliError(f"--url {spec!r}: the part after @ must be a process id")
        pid = int(pid_s)
    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise CliError(f"--url {spec!r}: {url!r} is not an http:// URL")
    return Target(name=name, base_url=url.rstrip("/"), pid=pid, api_key=api_key)


def _interval(args) -> float:
    if args.interval is not None:
        if args.interval <= 0:
            raise CliError("--interval must be positive")
        return args.interval
    return float(user_settings().sample_interval_s)  # a damaged file: warned, defaults used


def run(args) -> int:
    if args.url:
        fixed = [parse_url(s, args.api_key) for s in args.url]
        names = [t.name for t in fixed]
        if len(set(names)) != len(names):
            raise CliError("--url: each NAME must be different")

        def targets() -> list[Target]:
            return fixed
    else:
        from tierdeck.core.metrics.registry_targets import registry_targets  # noqa: PLC0415

        targets = registry_targets

    interval = _interval(args)
    count = args.count
    if count is None and (args.once or args.json):
        count = 1
    # numpy, httpx and the Prometheus parser load only for `top`: other commands start faster.
    from tierdeck.core.metrics import Sampler  # noqa: PLC0415
    from tierdeck.core.metrics.table import render_table  # noqa: PLC0415

    sampler = Sampler(targets, interval_s=interval)
    out = sys.stdout
    live = count is None and out.isatty()
    try:
        sampler.tick()  # rates need a first reading to difference against
        shown = 0
        while count is None or shown < count:
            time.sleep(interval)
            sample = sampler.tick()
            if args.json:
                out.write(json.dumps(sample.to_dict()) + "\n")
            else:
                out.write((CLEAR if live else "") + render_table(sample) + "\n")
                if not live and (count is None or shown + 1 < count):
                    out.write("\n")
            out.flush()
            shown += 1
    finally:
        sampler.stop()
    return 0
