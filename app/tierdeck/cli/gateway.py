"""`tierdeck gateway PROFILE`: one local endpoint for every tier of a profile, in the foreground.

Prints its URL, serves until Ctrl-C or SIGTERM, and leaves the tiers running when it stops
(--stop-tiers: stops the profile's servers too).
"""

from __future__ import annotations

import os
import sys

from tierdeck.cli import CliError


def register(sub) -> None:
    p = sub.add_parser("gateway", help="serve every tier of a profile on one URL "
                       "(Anthropic + OpenAI APIs); Ctrl-C stops it, tiers keep running")
    p.add_argument("profile", help="profile name or path to a .yaml file")
    from tierdeck.core.gateway.control import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV  # noqa: PLC0415

    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"bind address (default {DEFAULT_HOST}; any other needs --token)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0: any free)")
    p.add_argument("--token", help="require this API key from clients (x-api-key or Bearer); "
                   f"default: ${TOKEN_ENV}")
    p.add_argument("--drain-timeout", type=float, default=30.0, metavar="S",
                   help="how long a swap waits for the partner's requests to finish")
    p.add_argument("--stop-tiers", action="store_true",
                   help="when the gateway stops, stop the profile's servers too "
                   "(default: they keep running for the next TierDeck)")
    p.set_defaults(func=cmd_gateway)


def cmd_gateway(args) -> int:
    from tierdeck.cli.servers import _load_profile  # noqa: PLC0415
    from tierdeck.core.gateway.control import TOKEN_ENV  # noqa: PLC0415
    from tierdeck.core.gateway.ledger import Ledger  # noqa: PLC0415
    from tierdeck.core.gateway.server import GatewayConfigError, GatewayServer  # noqa: PLC0415

    profile = _load_profile(args.profile)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    try:
        srv = GatewayServer(profile, args.host, args.port, token=token, ledger=Ledger(),
                            drain_timeout_s=args.drain_timeout, stop_tiers=args.stop_tiers)
    except GatewayConfigError as e:
        raise CliError(str(e)) from None
    auth = " (token required)" if token else ""
    print(f"TierDeck gateway for {profile.name} on {srv.url}{auth}", flush=True)
    print(f"  Anthropic: ANTHROPIC_BASE_URL={srv.url}   OpenAI: base_url={srv.url}/v1",
          flush=True)
    print("  Ctrl-C stops the gateway and the profile's servers." if args.stop_tiers else
          "  Ctrl-C stops the gateway; the tiers keep running (--stop-tiers stops them too).",
          flush=True)
    srv.run()
    print("gateway stopped", file=sys.stderr, flush=True)
    return 0
