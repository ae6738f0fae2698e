"""`tierdeck`: no subcommand opens the desktop app; subcommands are the headless CLI."""

from __future__ import annotations

import argparse
import importlib
import sys

from tierdeck import __version__

# Each module adds its subcommands with register(subparsers).
COMMAND_MODULES = ["detect", "plan", "servers", "top", "rpc", "ask", "usage", "gateway"]


class CliError(Exception):
    """An error the user can act on: printed as one line, exit status 2, no traceback."""


_settings_warned: set[str] = set()


def user_settings():
    """The user's settings; a file that fails to load is said (as the window does), once,
    and the defaults are used: its llama-server path, reserve etc. do not apply."""
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    try:
        return Settings.load()
    except SettingsError as e:
        if str(e) not in _settings_warned:
            _settings_warned.add(str(e))
            print(f"tierdeck: warning: {e}; using default settings (llama-server path, "
                  "reserve and last profile from that file are ignored)", file=sys.stderr)
        return Settings()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tierdeck",
        description="Plan, run and watch llama-server tiers on your own GPU. "
        "Without a command, opens the desktop app.",
    )
    p.add_argument("--version", action="version", version=f"tierdeck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"tierdeck.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"tierdeck.cli.{name}":
                raise
            continue
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from tierdeck.gui.shell.launch import launch  # noqa: PLC0415 - keep Qt out of the CLI

        return launch()
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"tierdeck: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
