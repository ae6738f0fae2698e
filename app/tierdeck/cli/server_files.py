"""`tierdeck logs` and `tierdeck profiles`: commands that read files, not running servers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tierdeck.cli import CliError


def cmd_logs(args) -> int:
    from tierdeck.core.profiles.engines import members_of  # noqa: PLC0415
    from tierdeck.core.servers.logfiles import LogTail, log_path_for, read_tail  # noqa: PLC0415
    from tierdeck.core.servers.registry import Registry  # noqa: PLC0415

    # Not servers._running_entry: that needs the profile loaded, and a running server's log
    # must stay readable when its profile no longer loads. The registry key names the engine's
    # members, so a tier of a shared engine finds the engine's file all the same.
    path = None
    for e in Registry().read().values():  # a tier of a shared engine logs in the engine's file
        if args.tier in members_of(e.tier) and (args.profile is None or e.profile == args.profile):
            path = Path(e.log_path)
    if path is None:
        from tierdeck.cli.servers import _profile_for  # noqa: PLC0415 - import cycle

        profile = _profile_for(args.tier, args.profile)
        path = log_path_for(profile.name, profile.engine_of(args.tier))
    if not path.exists():
        raise CliError(f"no log yet for tier {args.tier!r} ({path})")
    if not args.follow:
        for line in read_tail(path, args.lines):
            print(line)
        return 0
    # One reader for the backlog and what follows: no line lost or printed twice between.
    tail = LogTail(path, keep_lines=max(1, args.lines))
    tail.read_new()
    for line in list(tail.lines)[-args.lines:] if args.lines > 0 else []:
        print(line, flush=True)
    try:
        while True:
            for line in tail.read_new():
                print(line, flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0


def cmd_profiles(args) -> int:
    from tierdeck.core.profiles import ProfileError, list_profiles, load_profile  # noqa: PLC0415

    if args.profile:
        try:
            prof = load_profile(args.profile)
        except ProfileError as e:
            for line in str(e).splitlines():
                print(line, file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({"name": prof.name, "path": str(prof.path), "ok": True,
                              "warnings": prof.warnings, "tiers": list(prof.tiers)}, indent=2))
            return 0
        print(f"{prof.name}: ok ({prof.path})")
        for w in prof.warnings:
            print(f"  warning: {w}")
        return 0
    entries = list_profiles()
    if args.json:
        print(json.dumps([{
            "name": e.name, "path": str(e.path), "source": e.source, "ok": e.ok,
            "errors": [str(i) for i in e.error.issues] if e.error else [],
            "warnings": e.profile.warnings if e.profile else [],
            "tiers": list(e.profile.tiers) if e.profile else [],
            "description": e.profile.description if e.profile else "",
        } for e in entries], indent=2))
        return 0 if all(e.ok for e in entries) else 1
    if not entries:
        print("no profiles")
    for e in entries:
        over = f", overrides {e.overrides}" if e.overrides else ""
        if e.ok and e.profile is not None:
            tiers = ", ".join(
                f"{t.name}{' (remote)' if t.is_remote else ''}" for t in e.profile.tiers.values())
            print(f"{e.name:32s} {e.source:7s} ok     tiers: {tiers}{over}")
            if e.profile.description:
                print(f"    {e.profile.description}")
            for w in e.profile.warnings:
                print(f"    warning: {w}")
        else:
            print(f"{e.name:32s} {e.source:7s} ERROR  {e.path}{over}")
            for line in str(e.error).splitlines():
                print(f"    {line}")
    return 0 if all(e.ok for e in entries) else 1
