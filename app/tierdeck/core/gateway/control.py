"""A gateway that outlives the window: its record, starting it detached, stopping it.

The running gateway writes `app_dirs().state / "gateway.json"` when it starts and removes
it when it stops; the next TierDeck reads it to find (and adopt) that gateway. A record
whose pid is gone, or now belongs to another process (create_time differs), reads as None.
The token never goes into the record or onto a command line (other users can read `ps`):
a detached gateway gets it through its environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs, ensure_dir

RECORD_FILE = "gateway.json"
LOG_FILE = "gateway.log"
TOKEN_ENV = "TIERDECK_GATEWAY_TOKEN"  # the gateway's token, for the gateway and its clients
DEFAULT_HOST = "127.0.0.1"  # where `tierdeck gateway` listens unless told otherwise
DEFAULT_PORT = 4000


@dataclass
class GatewayRecord:
    pid: int
    create_time: float
    host: str
    port: int
    profile: str
    url: str
    token_required: bool
    started_at: float


def record_path() -> Path:
    return app_dirs().state / RECORD_FILE


def write_record(rec: GatewayRecord) -> None:
    ensure_dir(app_dirs().state)
    atomic_write_text(record_path(), json.dumps(asdict(rec), indent=1), mode=0o600)


def remove_record(pid: int) -> None:
    """Remove the record if it is this pid's (a newer gateway's record stays)."""
    try:
        d = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if d.get("pid") == pid:
        with contextlib.suppress(OSError):
            record_path().unlink()


def _alive(pid: int, create_time: float) -> bool:
    try:
        p = psutil.Process(pid)
        return abs(p.create_time() - create_time) < 0.05 and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def read_gateway() -> GatewayRecord | None:
    try:
        d = json.loads(record_path().read_text(encoding="utf-8"))
        rec = GatewayRecord(**{k: d[k] for k in GatewayRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return rec if _alive(rec.pid, rec.create_time) else None


def _argv(profile_name: str, host: str, port: int) -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is tierdeck
        return [sys.executable, "gateway", profile_name, "--host", host, "--port", str(port)]
    return [sys.executable, "-m", "tierdeck.cli", "gateway", profile_name,
            "--host", host, "--port", str(port)]


def start_detached(profile_name: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   token: str | None = None, timeout: float = 30.0) -> GatewayRecord:
    """Start `tierdeck gateway` in its own session (it survives the window) and wait until
    /health answers. Raises RuntimeError with the log's last lines if it does not."""
    import httpx  # noqa: PLC0415 - only this needs it; readers of the record do not

    cur = read_gateway()
    if cur is not None:
        if cur.port == port and cur.host == host and cur.profile in (
                profile_name, _profile_name(profile_name)):
            return cur
        raise RuntimeError(f"a gateway already runs for {cur.profile} on {cur.url} "
                           f"(pid {cur.pid}): stop it first")
    log_path = ensure_dir(app_dirs().logs) / LOG_FILE
    env = dict(os.environ)
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    with open(log_path, "ab") as log:
        p = subprocess.Popen(_argv(profile_name, host, port), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1.0) as c:
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"the gateway exited ({p.returncode}): " + _tail(log_path))
            rec = read_gateway()
            if rec is not None and rec.pid == p.pid:
                with contextlib.suppress(httpx.HTTPError):
                    if c.get(f"{rec.url}/health").status_code == 200:
                        return rec
            time.sleep(0.05)
    with contextlib.suppress(OSError):
        p.terminate()
    raise RuntimeError(f"the gateway did not answer within {timeout:g} s: " + _tail(log_path))


def _profile_name(name_or_path: str) -> str:
    from tierdeck.core.profiles import ProfileError, load_profile  # noqa: PLC0415

    try:
        return load_profile(name_or_path).name
    except ProfileError:
        return name_or_path


def stop_gateway(timeout: float = 5.0) -> bool:
    """SIGTERM the recorded gateway (SIGKILL after timeout). False when none was running."""
    rec = read_gateway()
    if rec is None:
        return False
    try:
        p = psutil.Process(rec.pid)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except psutil.TimeoutExpired:
            p.kill()
            p.wait(5)
    except psutil.Error:
        pass
    remove_record(rec.pid)
    return True


def _tail(path: Path, n: int = 5) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-n:]) or "(empty log)"
