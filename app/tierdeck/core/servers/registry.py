"""The small state file that lets the GUI, the CLI and a restarted TierDeck see the same servers.

One JSON file in the user state folder; every read-modify-write holds an exclusive lock on a
side file, so a CLI `down` and a GUI start never lose each other's entries. A PID alone is
not an identity (PIDs are reused): an entry matches a live process only when the process
creation time matches too. An entry is written before its server is spawned (state
"launching", pid 0, a launch id that the server's environment carries too) and its pid is
filled in after, so no server TierDeck starts is ever missing from here by design.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import psutil

from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.servers.process import identify

REGISTRY_FILE = "servers.json"


@dataclass
class Entry:
    profile: str
    tier: str
    pid: int
    create_time: float  # psutil create_time of pid: proves it is still our process
    host: str
    port: int
    alias: str
    command: list[str]
    display: str  # the copyable command line shown to the user (keys masked)
    started_at: float
    log_path: str
    profile_path: str = ""
    model_path: str = ""
    planned_bytes: int | None = None
    plan: dict | None = None
    api_key_set: bool = False
    # "launching" (written before the spawn: pid 0 until the process exists) | "running" |
    # "stopping" (someone is stopping it on purpose)
    state: str = "running"
    owner_pid: int = 0  # the TierDeck process that started it
    restarts: int = 0
    extra: dict = field(default_factory=dict)
    launch_id: str = ""  # also in the server's environment (marks.py): finds it without a pid

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.tier}"

    def to_dict(self) -> dict:
        """Field -> value, nested values shared, not copied (dataclasses.asdict deep-copies
        the plan on every registry access: most of a registry write's time on the swap
        path). Callers replace an entry's nested values, never change them in place."""
        return {f.name: getattr(self, f.name) for f in _FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> Entry:
        return cls(**{k: v for k, v in d.items() if k in _NAMES})


_FIELDS = fields(Entry)
_NAMES = frozenset(f.name for f in _FIELDS)


def process_matches(pid: int, create_time: float) -> psutil.Process | None:
    """The live process for an entry, or None if it is gone or the PID was reused."""
    return identify(pid, create_time)


class Registry:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else app_dirs().state
        self.path = self.folder / REGISTRY_FILE
        self.lock_path = self.folder / (REGISTRY_FILE + ".lock")

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Entry]]:
        """Read, let the caller change the dict, write back; all under one file lock."""
        ensure_dir(self.folder)
        with open(self.lock_path, "a+") as lock:
            _lock(lock)
            try:
                entries = self._read()
                before = {k: e.to_dict() for k, e in entries.items()}
                yield entries
                after = {k: e.to_dict() for k, e in entries.items()}
                if after != before:
                    self._write(entries)
            finally:
                _unlock(lock)

    def read(self) -> dict[str, Entry]:
        with self.locked() as entries:
            return dict(entries)

    def mtime(self) -> float:
        try:
            return self.path.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return 0.0

    def put(self, entry: Entry) -> None:
        with self.locked() as entries:
            entries[entry.key] = entry

    def remove(self, key: str, pid: int | None = None, launch_id: str = "") -> None:
        """Drop an entry; with pid / launch_id, only if it still describes that launch."""
        with self.locked() as entries:
            e = entries.get(key)
            if e is not None and _same_launch(e, pid, launch_id):
                del entries[key]

    def mark_stopping(self, key: str, pid: int, launch_id: str = "") -> None:
        with self.locked() as entries:
            e = entries.get(key)
            if e is not None and _same_launch(e, pid, launch_id):
                e.state = "stopping"

    def set_launched(self, key: str, launch_id: str, pid: int, create_time: float) -> bool:
        """Fill in the pid of an entry written before its spawn; False if it is gone."""
        with self.locked() as entries:
            e = entries.get(key)
            if e is None or e.launch_id != launch_id:
                return False
            e.pid, e.create_time = pid, create_time
            if e.state == "launching":
                e.state = "running"
            return True

    def _read(self) -> dict[str, Entry]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged registry must not stop TierDeck; live servers are found again on
            # the next start only if listed, so keep the bad file for inspection.
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_suffix(f".bad-{int(time.time())}"))
            return {}
        out: dict[str, Entry] = {}
        for d in raw.get("servers", []) if isinstance(raw, dict) else []:
            try:
                e = Entry.from_dict(d)
            except TypeError:
                continue
            out[e.key] = e
        return out

    def _write(self, entries: dict[str, Entry]) -> None:
        data = {"version": 1, "servers": [e.to_dict() for e in entries.values()]}
        text = json.dumps(data, indent=2) + "\n"
        # Atomic (temp file + rename) but not fsynced: it sits on the swap path, and after a
        # power loss the servers it lists are gone anyway.
        fd, tmp = tempfile.mkstemp(prefix=".servers.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _same_launch(e: Entry, pid: int | None, launch_id: str) -> bool:
    """Does the entry still describe this launch? The launch id when given (it is known
    before the pid), else the pid; neither given matches any entry."""
    if launch_id:
        return e.launch_id == launch_id
    return pid is None or e.pid == pid


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(f) -> None:
        f.seek(0)
        while True:
            try:
                msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.05)

    def _unlock(f) -> None:
        f.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(f) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)

    def _unlock(f) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
