"""`tierdeck` with no command: open the desktop app, or explain what to do without a display.

Nothing here imports Qt before it knows a window can open: on a server over SSH the same
command prints a pointer to the CLI and exits 0 instead of Qt aborting the process.
"""

from __future__ import annotations

import ctypes.util
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Qt platforms that draw without a window system (tests, VNC, framebuffers).
NO_DISPLAY_NEEDED = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}
DEMO_PROFILE = "demo"
# Libraries Qt's xcb plugin loads that minimal Linux installs lack (Qt >= 6.5), and their
# Debian/Ubuntu packages. Without them Qt aborts the process instead of raising an error.
XCB_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4",
                 "xcb-keysyms": "libxcb-keysyms1"}

CLI_HINT = """\
The same features work from this terminal:
  tierdeck detect              GPUs / memory of this machine and the budget for models
  tierdeck plan MODEL.gguf     which context size and slots fit
  tierdeck up demo             start the demo tier (a tiny generated model, real llama-server)
  tierdeck status              running tiers, their ports and memory
  tierdeck top                 live tokens/s, memory and requests of running tiers
  tierdeck down --all          stop them
  tierdeck --help              every command"""


def display_problem(env: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no window can open here, in a sentence; None when a window can open."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    requested = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    requested = [p for p in requested if p]
    if requested and requested[0] in NO_DISPLAY_NEEDED:
        return None  # the user asked for a platform without a window system
    if not platform.startswith("linux") and not platform.startswith("freebsd"):
        return None  # macOS and Windows sessions always have a window server
    x11, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if requested:  # Qt tries only the platforms listed ("wayland;xcb" = Wayland, then X11)
        if any(p != "xcb" and not p.startswith("wayland") for p in requested):
            return None  # something this check does not know: let Qt decide
        if "xcb" not in requested:
            x11 = ""
        if not any(p.startswith("wayland") for p in requested):
            wayland = ""
    if not x11 and not wayland:
        return "no display here (DISPLAY and WAYLAND_DISPLAY are unset)"
    if wayland and _wayland_reachable(wayland, env):
        return None
    if x11:
        if not _x11_reachable(x11):
            return f"the X display {x11!r} does not answer (a closed session or SSH without -X?)"
        missing = missing_xcb_packages()
        if missing:
            return (f"Qt's X11 plugin needs {', '.join(missing)} "
                    f"(Debian/Ubuntu: sudo apt-get install {' '.join(missing)})")
        return None
    return f"the Wayland display {wayland!r} does not answer"


def missing_xcb_packages() -> list[str]:
    if getattr(sys, "frozen", False):
        return []  # a bundle may carry its own copies, which find_library cannot see
    return [pkg for lib, pkg in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]


def _wayland_reachable(name: str, env) -> bool:
    path = Path(name)
    if not path.is_absolute():
        runtime = env.get("XDG_RUNTIME_DIR")
        if not runtime:
            return False
        path = Path(runtime) / name
    return path.exists()


def _x11_reachable(display: str, timeout_s: float = 1.0) -> bool:
    """Connect to the X server's socket; unknown DISPLAY forms are given the benefit of the doubt."""
    host, sep, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not sep or not number.isdigit():
        return True
    if host.startswith("/"):
        return True  # launchd-style socket paths (XQuartz): let Qt try
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        addresses = [(socket.AF_UNIX, path)]
        if sys.platform.startswith("linux"):
            addresses.insert(0, (socket.AF_UNIX, "\0" + path))  # abstract socket (Xorg default)
    else:
        addresses = [(socket.AF_INET, (host, 6000 + int(number)))]
    for family, address in addresses:
        try:
            if family == socket.AF_INET:
                with socket.create_connection(address, timeout=timeout_s):
                    return True
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(timeout_s)
                s.connect(address)
                return True
        except OSError:
            continue
    return False


def headless_message(problem: str, env: dict[str, str] | None = None) -> str:
    msg = f"tierdeck: {problem}, so the desktop app cannot open.\n{CLI_HINT}"
    where = _venv_bin_off_path(os.environ if env is None else env)
    if where:
        # `make run` uses the project's .venv: its tierdeck is not on the user's PATH.
        msg += f"\n(tierdeck is in {where}: run `. {where}/activate` or call {where}/tierdeck)"
    return msg


def _venv_bin_off_path(env: dict[str, str]) -> str | None:
    if sys.prefix == sys.base_prefix or getattr(sys, "frozen", False):
        return None
    bindir = str(Path(sys.prefix) / "bin")
    return None if bindir in env.get("PATH", "").split(os.pathsep) else bindir


@dataclass
class Startup:
    """What the window opens on."""

    profile: str | None  # profile name to select (None: the picker's own choice)
    first_run: bool = False  # the user has no profile of their own: the demo is shown
    demo_model: Path | None = None  # generated tiny GGUF, when the demo is opened
    notes: list[str] = field(default_factory=list)  # one-line problems to show, not fatal


def startup_profile() -> Startup:
    """The last profile used if it still loads; else the user's first; else the demo.

    On first run this also makes sure the demo's built-in model is there (SmolLM2 from its
    package; without the package, the tiny generated GGUF is written in under a second), so
    the demo tier starts at once and the plan view has a real file.
    """
    from tierdeck.core.profiles import list_profiles  # noqa: PLC0415
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    notes: list[str] = []
    try:
        last = Settings.load().last_profile
    except SettingsError as e:
        notes.append(str(e))
        last = None
    entries = list_profiles()
    usable = {e.name: e for e in entries if e.ok}
    if last in usable:
        return Startup(last, notes=notes)
    own = [e for e in entries if e.source == "user" and e.ok]
    if own:
        return Startup(own[0].name, notes=notes)
    if any(e.source == "user" for e in entries):
        notes.append("your profiles have errors: fix them, or start from the demo")
    if DEMO_PROFILE not in usable:
        notes.append(f"the built-in {DEMO_PROFILE!r} profile is missing or invalid")
        return Startup(next(iter(usable), None), notes=notes)
    from tierdeck.core.demo import ensure_builtin_model  # noqa: PLC0415

    demo = usable[DEMO_PROFILE].profile
    try:
        models = [t.model_path for t in demo.local_tiers if ensure_builtin_model(t.model_path)]
        model = models[0] if models else None
    except OSError as e:
        notes.append(f"could not write the demo model: {e}")
        model = None
    return Startup(DEMO_PROFILE, first_run=True, demo_model=model, notes=notes)


def make_application(argv: list[str] | None = None):
    """The QApplication with the names and icon desktops use to group and label its windows."""
    from PySide6.QtGui import QGuiApplication, QIcon  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck import __version__  # noqa: PLC0415
    from tierdeck.core.resources import resource_path  # noqa: PLC0415

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("tierdeck")
    app.setApplicationDisplayName("TierDeck")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("TierDeck")
    QGuiApplication.setDesktopFileName("tierdeck")  # matches packaging/linux/tierdeck.desktop
    icon = resource_path("tierdeck.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def open_main_window(app, startup: Startup) -> int:
    """The GUI's main loop (tierdeck.gui.shell.app.run), opened on the profile chosen above."""
    from tierdeck.gui.shell.app import run  # noqa: PLC0415

    return run(app=app, profile=startup.profile, notes=startup.notes)


def launch(argv: list[str] | None = None) -> int:
    problem = display_problem()
    if problem:
        print(headless_message(problem))
        return 0
    app = make_application(argv)
    quit_after = os.environ.get("TIERDECK_QUIT_AFTER_MS")
    if quit_after:  # smoke tests of installed/frozen builds: open the window, then quit
        from PySide6.QtCore import QTimer  # noqa: PLC0415

        # exit(), not quit(): a window that hides to the tray would veto quit().
        QTimer.singleShot(int(quit_after), lambda: app.exit(0))
    return open_main_window(app, startup_profile())
