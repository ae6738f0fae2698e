"""Starting and stopping one server process and its children, on POSIX and Windows.

Each server gets its own session / process group, so that stopping it reaches anything it
spawned, and so that a terminal's Ctrl-C or a dying TierDeck does not take it down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

IS_WINDOWS = os.name == "nt"


def spawn(argv: list[str], env_extra: dict[str, str], log_fd: int,
          cwd: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(env_extra)
    kwargs: dict = {}
    if IS_WINDOWS:  # pragma: no cover
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    try:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, env=env,
            cwd=str(cwd) if cwd else None, close_fds=True, **kwargs,
        )
    finally:
        os.close(log_fd)  # the child has its own copy


def signal_group(pid: int, sig: int) -> None:
    """Signal the server's process group (it leads its own session), else just the pid."""
    if IS_WINDOWS:  # pragma: no cover
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            if sig == signal.SIGTERM:
                p.terminate()
            else:
                p.kill()
        return
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    try:
        if pgid == pid:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(pid: int, proc: subprocess.Popen | None, timeout: float,
              create_time: float | None = None) -> bool:
    """True once the process has exited (reaped, if it is our child) within timeout."""
    deadline = time.monotonic() + timeout
    if proc is not None:
        try:
            proc.wait(timeout=max(0.0, timeout))
            return True
        except subprocess.TimeoutExpired:
            return False
    while True:
        if not alive(pid, create_time):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


CREATE_TIME_SLACK_S = 0.05  # psutil rounds create_time; a reused PID differs by far more


def identify(pid: int, create_time: float | None = None) -> psutil.Process | None:
    """The one identity check: the live process with this pid AND this creation time.

    A PID alone is not an identity (PIDs are reused). None when it is gone, a zombie, or a
    different process now has the PID. create_time None checks the pid only.
    """
    if not pid:
        return None
    try:
        p = psutil.Process(pid)
        if create_time is not None and abs(p.create_time() - create_time) > CREATE_TIME_SLACK_S:
            return None
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except (psutil.NoSuchProcess, psutil.ZombieProcess, ValueError):
        return None
    except psutil.AccessDenied:
        # Another user's process has the PID now, or a platform hides the details.
        return None


def alive(pid: int, create_time: float | None = None) -> bool:
    return identify(pid, create_time) is not None


def terminate(pid: int, proc: subprocess.Popen | None, timeout: float,
              create_time: float | None = None) -> str:
    """SIGTERM to the group, SIGKILL after timeout. Returns "term", "kill" or "gone"."""
    if not alive(pid, create_time) and (proc is None or proc.poll() is not None):
        if proc is not None:
            proc.poll()
        return "gone"
    signal_group(pid, signal.SIGTERM)
    if wait_gone(pid, proc, timeout, create_time):
        return "term"
    signal_group(pid, signal.SIGKILL if not IS_WINDOWS else signal.SIGTERM)
    wait_gone(pid, proc, 10.0, create_time)
    return "kill"
