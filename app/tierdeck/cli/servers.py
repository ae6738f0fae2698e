"""`tierdeck up/switch/down/status/logs/env/profiles`: the supervisor from a terminal.

Servers outlive the command: `up` returns once they are ready, and any later command (or
the desktop app) finds them through the registry.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tierdeck.cli import CliError, user_settings
from tierdeck.cli.server_files import cmd_logs, cmd_profiles
from tierdeck.core.units import fmt_bytes


def register(sub) -> None:
    p = sub.add_parser("up", help="start a profile's tiers (default: one per swap group)")
    p.add_argument("profile", help="profile name or path to a .yaml file")
    p.add_argument("tiers", nargs="*", metavar="TIER", help="tiers to start (default: the profile's defaults)")
    p.add_argument("--watch", action="store_true",
                   help="stay in the foreground: show state changes, apply restart policies "
                   "(Ctrl-C leaves the servers running)")
    p.add_argument("--json", action="store_true", help="print the resulting status as JSON")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("switch", help="swap a tier in: stop its swap partner, start it")
    p.add_argument("tier")
    p.add_argument("--profile", help="default: the profile running now, else the last one used")
    p.set_defaults(func=cmd_switch)

    p = sub.add_parser("down", help="stop a tier's server, or all of them")
    p.add_argument("tier", nargs="?")
    p.add_argument("--all", action="store_true", help="stop every server TierDeck started")
    p.add_argument("--profile")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="servers, their state, ports and memory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("logs", help="a tier's server log")
    p.add_argument("tier")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("-n", "--lines", type=int, default=50)
    p.add_argument("--profile")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("env", help="client settings: Claude Code env, OpenAI base_url, LiteLLM "
                       "(through the gateway; --direct for one tier's own server)")
    p.add_argument("tier", nargs="?", help="with --direct: the tier; else only picks the "
                   "profile and, for --format litellm, the entry")
    p.add_argument("--format", choices=["shell", "dotenv", "json", "litellm", "openai"],
                   default="shell", help="openai: OPENAI_BASE_URL / OPENAI_API_KEY (gateway only)")
    p.add_argument("--direct", action="store_true",
                   help="point at the tier's own llama-server instead of the gateway")
    p.add_argument("--profile")
    p.set_defaults(func=cmd_env)

    p = sub.add_parser("profiles", help="list profiles and check them; or check one file")
    p.add_argument("profile", nargs="?", help="name or .yaml path to check")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profiles)


# ---- helpers ---------------------------------------------------------------------------
def _one_line(e: Exception) -> str:
    lines = [x for x in str(e).splitlines() if x.strip()]
    if not lines:
        return type(e).__name__
    more = f" (+{len(lines) - 1} more: tierdeck profiles)" if len(lines) > 1 else ""
    return lines[0] + more


def _load_profile(name: str):
    from tierdeck.core.profiles import ProfileError, load_profile  # noqa: PLC0415

    try:
        return load_profile(name)
    except ProfileError as e:
        raise CliError(_one_line(e)) from None


def _supervisor():
    from tierdeck.core.servers.binary import LlamaServerNotFound  # noqa: PLC0415
    from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415

    try:
        return Supervisor(settings=user_settings())
    except LlamaServerNotFound as e:
        raise CliError(str(e).replace("\n", " ")) from None


def _profile_for(tier: str, explicit: str | None):
    """--profile, else the running profile with that tier, else the only running profile,
    else the last profile used."""
    if explicit:
        return _load_profile(explicit)
    from tierdeck.core.servers.registry import Registry  # noqa: PLC0415

    entries = list(Registry().read().values())
    from tierdeck.core.profiles.engines import members_of  # noqa: PLC0415

    for pool in ([e for e in entries if tier in members_of(e.tier)], entries):
        by_name = {e.profile: e for e in pool}
        if len(by_name) == 1:
            e = next(iter(by_name.values()))
            use = e.profile_path if e.profile_path and Path(e.profile_path).is_file() else e.profile
            return _load_profile(use)
        if len(by_name) > 1:
            raise CliError(f"several profiles are running ({', '.join(by_name)}): use --profile")
    last = user_settings().last_profile
    if last:
        return _load_profile(last)
    raise CliError(f"which profile has tier {tier!r}? use --profile NAME (tierdeck profiles lists them)")


def _running_entry(profile, tier: str):
    """The registry entry of the server a tier of this profile runs on, or None if it is down.

    A tier of a shared engine runs on the engine's server, whose entry is keyed by the engine
    (e.g. haiku+sonnet), not by the tier."""
    from tierdeck.core.servers.registry import Registry  # noqa: PLC0415

    engine = profile.engine_of(tier)
    return next((e for e in Registry().read().values()
                 if e.profile == profile.name and e.tier == engine), None)


def _remember(profile) -> None:
    """Remember the profile for the next switch/env: by name if the folders have it, else path."""
    from tierdeck.core.paths import app_dirs  # noqa: PLC0415
    from tierdeck.core.resources import builtin_profiles_dir  # noqa: PLC0415
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    known = profile.path.parent in (app_dirs().profiles, builtin_profiles_dir())
    value = profile.name if known else str(profile.path)
    try:
        s = Settings.load()
    except SettingsError:
        return  # never overwrite a file we could not read: the user may fix it (warned)
    if s.last_profile != value:
        s.last_profile = value
        try:
            s.save()
        except OSError as e:
            print(f"tierdeck: warning: cannot remember the profile: {e}", file=sys.stderr)


def _print_step(step) -> None:
    print(f"[{step.tier}] {step.message}", flush=True)


def _report(statuses) -> int:
    bad = [s for s in statuses if s.state != "ready"]
    for s in statuses:
        lt = (s.loaded.total if s.loaded else None)
        loaded = f", loaded {fmt_bytes(lt)}" if lt else ""
        if s.state == "ready":
            mem = f" ({s.plan_note}{loaded})" if s.plan_note else ""
            print(f"{s.tier}: ready at {s.base_url} model {s.alias}{mem}")
            for note in s.plan_notes:
                print(f"  plan: {note}")
        else:
            print(f"{s.tier}: {s.state}: {s.reason}", file=sys.stderr)
            if s.plan_note:
                print(f"  plan: {s.plan_note}", file=sys.stderr)
            if s.failure and s.failure.get("hint"):
                print(f"  hint: {s.failure['hint']}", file=sys.stderr)
            print(f"  command: {s.display}", file=sys.stderr)
            print(f"  log: {s.log_path}", file=sys.stderr)
    return 1 if bad else 0


def _run_guarded(fn):
    from tierdeck.core.profiles import ProfileError  # noqa: PLC0415
    from tierdeck.core.servers.binary import LlamaServerNotFound  # noqa: PLC0415
    from tierdeck.core.servers.supervisor import SupervisorError  # noqa: PLC0415

    try:
        return fn()
    except ProfileError as e:
        raise CliError(_one_line(e)) from None
    except LlamaServerNotFound as e:
        raise CliError(str(e).replace("\n", " ")) from None
    except SupervisorError as e:
        raise CliError(str(e)) from None


# ---- commands --------------------------------------------------------------------------
def cmd_up(args) -> int:
    profile = _load_profile(args.profile)
    sup = _supervisor()
    try:
        from tierdeck.core.profiles.engines import resolve_engines  # noqa: PLC0415

        names = resolve_engines(profile, args.tiers or None)  # a shared tier -> its engine
        statuses = _run_guarded(lambda: sup.up(profile, names,
                                               on_step=None if args.json else _print_step))
        _remember(profile)
        if args.json:
            print(json.dumps([s.to_dict() for s in statuses], indent=2, default=str))
            rc = 0 if all(s.state == "ready" for s in statuses) else 1
        else:
            rc = _report(statuses)
        if args.watch:
            _watch(sup)
        return rc
    finally:
        sup.close()


def _watch(sup) -> None:
    from tierdeck.core.servers.events import StateChanged  # noqa: PLC0415

    def show(ev) -> None:
        if isinstance(ev, StateChanged):
            extra = f": {ev.reason}" if ev.reason else ""
            print(f"[{ev.tier}] {ev.previous} -> {ev.state}{extra}", flush=True)

    unsub = sup.subscribe(show)
    print("watching (Ctrl-C to stop watching; servers keep running)", flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        unsub()


def cmd_switch(args) -> int:
    sup = _supervisor()
    try:
        profile = _profile_for(args.tier, args.profile)
        engine = profile.engine_of(args.tier)  # a shared tier: its engine (no reload if up)
        st = _run_guarded(lambda: sup.switch(profile, engine, on_step=_print_step))
        _remember(profile)
        return _report([st])
    finally:
        sup.close()


def cmd_down(args) -> int:
    if not args.tier and not args.all:
        raise CliError("name a tier to stop, or --all")
    sup = _supervisor()
    try:
        name = None if args.all else _running_engine(sup, args.tier, args.profile)
        stopped = _run_guarded(lambda: sup.down(name, profile=args.profile, on_step=_print_step))
        if not stopped:
            print("no servers running")
        return 0
    finally:
        sup.close()


def _running_engine(sup, tier: str, profile: str | None) -> str:
    """The running server that serves a tier: the tier's own, or a shared engine's."""
    from tierdeck.core.profiles.engines import members_of  # noqa: PLC0415

    for s in sup.status():
        if s.running and s.tier != tier and tier in members_of(s.tier) \
                and (profile is None or s.profile == profile):
            others = [m for m in members_of(s.tier) if m != tier]
            print(f"{tier} shares engine {s.tier}: stopping it stops {', '.join(others)} too",
                  flush=True)
            return s.tier
    return tier


def expand_shared(statuses) -> list[dict]:
    """One entry per tier: the tiers of a shared engine each get the engine's entry (same
    pid), with `engine` and `shared_with` saying so."""
    from tierdeck.core.profiles.engines import members_of  # noqa: PLC0415

    out = []
    for s in statuses:
        d = s.to_dict()
        members = members_of(s.tier)
        for m in members:
            out.append({**d, "tier": m, "engine": s.tier,
                        "shared_with": [x for x in members if x != m]})
    return out


def cmd_status(args) -> int:
    sup = _supervisor()
    try:
        deadline = time.monotonic() + 1.0
        # Adopted servers start as "starting" until the first health poll answers.
        while time.monotonic() < deadline and any(
                s.state == "starting" and s.adopted for s in sup.status()):
            time.sleep(0.05)
        statuses = sup.status()
    finally:
        sup.close()
    if args.json:
        print(json.dumps(expand_shared(statuses), indent=2, default=str))
        return 0
    if not statuses:
        print("no servers running")
        return 0
    rows = [("TIER", "PROFILE", "STATE", "PID", "URL", "MODEL", "PLANNED", "LOADED", "NOTE")]
    for s in statuses:
        lt = (s.loaded.total if s.loaded else None)
        rows.append((
            s.tier, s.profile, s.state, str(s.pid or ""), s.base_url if s.running else "",
            s.alias, fmt_bytes(s.planned_bytes) if s.planned_bytes else "-",
            fmt_bytes(lt) if lt else "-",
            "; ".join(x for x in (s.reason or s.detail, s.plan_note) if x),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    return 0


def cmd_env(args) -> int:
    if args.direct:
        return _env_direct(args)
    from tierdeck.core.clients import gateway_clients  # noqa: PLC0415
    from tierdeck.core.gateway.control import read_gateway  # noqa: PLC0415

    gw = read_gateway()
    # The gateway's profile is the one its clients reach; else as for the other commands.
    if args.profile:
        profile = _load_profile(args.profile)
    elif gw is not None:
        profile = _load_profile(gw.profile)
    elif args.tier:
        profile = _profile_for(args.tier, None)
    else:
        profile = _last_profile()
    if args.tier:
        _run_guarded(lambda: profile.tier(args.tier))
    gc = gateway_clients(profile, gw)
    if args.format == "litellm" and args.tier:
        gc.litellm = [e for e in gc.litellm if e["model_name"] == gc.models[args.tier]]
    sys.stdout.write(gc.render(args.format))
    return 0


def _last_profile():
    last = user_settings().last_profile
    if not last:
        raise CliError("which profile? use --profile NAME (tierdeck profiles lists them)")
    return _load_profile(last)


def _env_direct(args) -> int:
    from tierdeck.core.clients import client_settings  # noqa: PLC0415

    if not args.tier:
        raise CliError("--direct needs a tier: tierdeck env TIER --direct")
    if args.format == "openai":
        raise CliError("--format openai is for the gateway (llama-server's own /v1 works too: "
                       "use its base URL from --format json)")
    profile = _profile_for(args.tier, args.profile)
    tier = _run_guarded(lambda: profile.tier(args.tier))
    running = _running_entry(profile, tier.name)
    cs = client_settings(tier, profile, running)
    sys.stdout.write(cs.render(args.format))
    return 0
