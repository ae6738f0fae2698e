"""Load records: what the planner expected next to what llama-server reported, one JSON line per load.

`loads.jsonl` in the data folder (fields: time, profile, tier, model, command, planned_bytes,
plan, loaded) is read for planner calibration. It is bounded by rotation: past MAX_BYTES it
moves to loads.jsonl.1 (the older .1 to .2, and so on, KEEP files in all), so a long-lived
install keeps the recent few thousand loads and never grows without end.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.servers.logfiles import rotate

LOADS_FILE = "loads.jsonl"
MAX_BYTES = 2 * 1024 * 1024
KEEP = 3  # loads.jsonl, .1, .2

log = logging.getLogger(__name__)
_lock = threading.Lock()  # one writer per process at a time; appends are line-atomic anyway


def loads_path() -> Path:
    return app_dirs().data / LOADS_FILE


def load_record(profile: str, tier: str, model: str, command: list[str],
                planned_bytes: int | None, plan: dict | None, loaded: dict | None) -> dict:
    return {"time": time.time(), "profile": profile, "tier": tier, "model": model,
            "command": command, "planned_bytes": planned_bytes, "plan": plan, "loaded": loaded}


def append_load(rec: dict, path: Path | None = None, max_bytes: int = MAX_BYTES,
                keep: int = KEEP) -> None:
    """Append one record; rotate first when the file is full. A write error is logged, not
    raised: a full disk must not turn a server that loaded fine into a failure."""
    path = path or loads_path()
    try:
        line = json.dumps(rec, default=str) + "\n"
    except (TypeError, ValueError):
        log.exception("load record not serialisable: %r", rec.get("tier"))
        return
    with _lock:
        try:
            ensure_dir(path.parent)
            size = path.stat().st_size if path.exists() else 0
            if size and size + len(line) > max_bytes:
                _rotate(path, keep)
                size = 0
            with open(path, "a+b") as f:
                if size:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":  # a line cut by a crash: do not glue onto it
                        line = "\n" + line
                f.write(line.encode("utf-8"))
        except OSError:
            log.exception("cannot write %s", path)


def read_loads(path: Path | None = None, keep: int = KEEP) -> list[dict]:
    """Every kept record, oldest first (rotated files included); unreadable lines skipped."""
    path = path or loads_path()
    out: list[dict] = []
    for p in [path.with_name(f"{path.name}.{i}") for i in range(keep - 1, 0, -1)] + [path]:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")  # one bad byte: not the file
        except OSError:
            continue
        for raw in text.splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue  # a line cut by a crash mid-write
    return out


def _rotate(path: Path, keep: int) -> None:
    """keep counts the live file: it and keep - 1 rotated ones (logfiles.rotate counts those)."""
    if keep > 1:
        rotate(path, keep - 1)
    else:
        path.unlink()
