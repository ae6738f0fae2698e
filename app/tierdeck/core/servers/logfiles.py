"""Per-server log files: llama-server writes straight into them, TierDeck tails them.

The server's stdout/stderr go to a file opened in append mode, never a pipe, so a server
survives a TierDeck crash without blocking on a full pipe. Each start rotates the previous
log to .1 (keeping a few), and a log that grows past a limit while running is copied
away and truncated; O_APPEND makes the server carry on at the new end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections import deque
from pathlib import Path

from tierdeck.core.paths import app_dirs, ensure_dir

KEEP = 3
MAX_BYTES = 32 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def log_path_for(profile: str, tier: str) -> Path:
    name = f"{_SAFE.sub('_', profile)}--{_SAFE.sub('_', tier)}.log"
    return app_dirs().logs / "servers" / name


def rotate(path: Path, keep: int = KEEP) -> None:
    """path -> path.1 -> path.2 ...; the oldest beyond `keep` is deleted."""
    if not path.exists():
        return
    for i in range(keep - 1, 0, -1):
        src = path.with_name(f"{path.name}.{i}")
        if src.exists():
            os.replace(src, path.with_name(f"{path.name}.{i + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))


def open_for_server(path: Path) -> int:
    """A fresh log file descriptor for a new server (previous run rotated away)."""
    ensure_dir(path.parent)
    rotate(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def read_tail(path: Path, n: int = 50) -> list[str]:
    """The last n lines of a log file (for a server seen only through the registry)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-n:]


class LogTail:
    """Incremental reader of a growing log: new complete lines, plus the partial last one.

    llama.cpp prints model-load progress as dots without a newline, so the partial line is
    kept visible (`partial`) rather than waiting for its end.
    """

    def __init__(self, path: Path, keep_lines: int = 400, from_start: bool = True):
        self.path = Path(path)
        self.lines: deque[str] = deque(maxlen=keep_lines)
        self.partial = ""
        self._buf = b""
        self._offset = 0
        if not from_start:
            with contextlib.suppress(OSError):
                self._offset = self.path.stat().st_size

    def read_new(self) -> list[str]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self._offset:  # truncated (rotated while running)
            self._offset = 0
            self._buf = b""
        if size == self._offset:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(size - self._offset)
        except OSError:
            return []
        self._offset += len(data)
        self._buf += data
        *complete, rest = self._buf.split(b"\n")
        self._buf = rest
        self.partial = rest.decode("utf-8", "replace")
        out = [c.decode("utf-8", "replace").rstrip("\r") for c in complete]
        self.lines.extend(out)
        return out

    def tail(self, n: int = 50) -> list[str]:
        out = list(self.lines)[-n:]
        if self.partial:
            out = (out + [self.partial])[-n:]
        return out

    def rotate_if_big(self, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> bool:
        """Copy a log that grew too big to .1 and truncate it in place."""
        try:
            if self.path.stat().st_size <= max_bytes:
                return False
        except OSError:
            return False
        for i in range(keep - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        shutil.copyfile(self.path, self.path.with_name(f"{self.path.name}.1"))
        with open(self.path, "r+b") as f:
            f.truncate(0)
        self._offset = 0
        self._buf = b""
        return True
