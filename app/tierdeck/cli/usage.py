"""`tierdeck usage`: requests, tokens and API cost avoided per tier, from the gateway's ledger."""

from __future__ import annotations

import json
import re
import sys
import time

from tierdeck.cli import CliError, user_settings

UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(sub) -> None:
    p = sub.add_parser("usage", help="requests, tokens and API cost avoided per tier (gateway ledger)")
    p.add_argument("--since", default="all",
                   help="how far back: 30m, 12h, 1d, 2w or all (default: all)")
    p.add_argument("--profile", help="whose tier prices to use (default: the gateway's profile, "
                   "else the last one used)")
    p.add_argument("--json", action="store_true",
                   help='{"tiers": {TIER: {requests, input_tokens, output_tokens, cost_avoided_usd}}}')
    p.set_defaults(func=cmd_usage)


def parse_since(text: str, now: float | None = None) -> float | None:
    """'1d' -> epoch seconds one day ago; 'all' -> None."""
    s = text.strip().lower()
    if s == "all":
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", s)
    if not m:
        raise CliError(f"--since {text!r}: use a number and a unit (30m, 12h, 1d, 2w) or all")
    return (time.time() if now is None else now) - float(m.group(1)) * UNITS[m.group(2)]


def _prices(explicit: str | None):
    """Prices of the profile named, else the gateway's or last used profile, else None."""
    from tierdeck.cli.servers import _load_profile  # noqa: PLC0415
    from tierdeck.core.gateway.prices import profile_prices  # noqa: PLC0415

    if explicit:
        return profile_prices(_load_profile(explicit))
    from tierdeck.core.gateway.control import read_gateway  # noqa: PLC0415

    gw = read_gateway()
    name = gw.profile if gw is not None else user_settings().last_profile
    if not name:
        return None
    try:
        return profile_prices(_load_profile(name))
    except CliError as e:
        print(f"tierdeck: prices by tier name only: {e}", file=sys.stderr)
        return None


def cmd_usage(args) -> int:
    from tierdeck.core.gateway.ledger import Ledger  # noqa: PLC0415

    since = parse_since(args.since)
    ledger = Ledger()
    report = ledger.usage(since=since, prices=_prices(args.profile))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    tiers = report["tiers"]
    if not tiers:
        print("no requests through the gateway" + ("" if since is None else f" in the last {args.since}"))
        return 0
    print(f"{'tier':16s} {'requests':>9s} {'input tok':>12s} {'output tok':>12s} {'cost avoided':>13s}")
    total = {"requests": 0, "input_tokens": 0, "output_tokens": 0, "cost_avoided_usd": 0.0}
    for name, t in tiers.items():
        print(_row(name, t))
        for k in total:
            total[k] += t[k]
    if len(tiers) > 1:
        print(_row("total", total))
    print(f"ledger: {ledger.path}")
    return 0


def _row(name: str, t: dict) -> str:
    return (f"{name:16s} {t['requests']:>9,d} {t['input_tokens']:>12,d} "
            f"{t['output_tokens']:>12,d} {'$' + format(t['cost_avoided_usd'], ',.2f'):>13s}")
