"""`tierdeck ask TIER "prompt"`: send one prompt to a running tier and stream the answer.

The answer goes to stdout as it arrives (pipe-friendly); thinking, if the model thinks, goes
to stderr apart from it, and so does the closing line of figures (first token, tokens/s).
"""

from __future__ import annotations

import sys

from tierdeck.cli import CliError


def register(sub) -> None:
    p = sub.add_parser("ask", help="send one prompt to a running tier; the answer streams in")
    p.add_argument("tier")
    p.add_argument("prompt", help='the prompt; "-" reads it from stdin')
    p.add_argument("--profile", help="default: the profile running that tier, else the last one used")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--temperature", type=float, help="default: the server's (0 = the same answer every time)")
    think = p.add_mutually_exclusive_group()
    think.add_argument("--think", dest="thinking", action="store_const", const=True, default=None,
                       help="ask the model to think first (templates with enable_thinking)")
    think.add_argument("--no-think", dest="thinking", action="store_const", const=False)
    p.add_argument("--quiet", "-q", action="store_true", help="no thinking and no figures on stderr")
    p.set_defaults(func=cmd_ask)


def cmd_ask(args) -> int:
    from tierdeck.cli.servers import _profile_for, _run_guarded, _running_entry  # noqa: PLC0415
    from tierdeck.core.ask import THINKING, AskError, ask, ask_target  # noqa: PLC0415
    from tierdeck.core.gateway.control import read_gateway  # noqa: PLC0415

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise CliError("empty prompt")
    profile = _profile_for(args.tier, args.profile)
    tier = _run_guarded(lambda: profile.tier(args.tier))
    gateway = read_gateway()
    if gateway is not None and gateway.profile != profile.name:
        gateway = None  # a gateway for another profile does not know this tier
    running = _running_entry(profile, tier.name)  # a shared engine's member: the engine's server
    if running is None and gateway is None and not tier.is_remote:
        raise CliError(f"{tier.name} is not running: tierdeck up {profile.name} {tier.name} "
                       f"(or run `tierdeck gateway {profile.name}`, which starts tiers on demand)")
    last_kind = ""

    def show(kind: str, text: str) -> None:
        nonlocal last_kind
        if kind == THINKING:
            if not args.quiet:
                sys.stderr.write(("[thinking] " if last_kind != THINKING else "") + text)
                sys.stderr.flush()
        else:
            if last_kind == THINKING and not args.quiet:
                sys.stderr.write("\n")
            sys.stdout.write(text)
            sys.stdout.flush()
        last_kind = kind

    try:
        target = ask_target(tier, running.host if running else None, running.port if running else None,
                            running.alias if running else "", gateway=gateway)
        result = ask(target, prompt, max_tokens=args.max_tokens, thinking=args.thinking,
                     temperature=args.temperature, on_delta=show)
    except AskError as e:
        raise CliError(str(e)) from None
    sys.stdout.write("\n")
    if not args.quiet:
        via = f" via the gateway {target.url}" if target.via == "gateway" else ""
        print(f"[{tier.name}{via}] {result.summary()}", file=sys.stderr)
    return 0
