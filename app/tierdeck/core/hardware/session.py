"""One NVML session per process, shared by the window's device monitor and the sampler.

nvmlInit on a GPU without persistence mode makes the driver set the card up again, which
takes on the order of seconds; a 2 s refresh that opened and closed NVML each time would pay
it on every refresh. `acquire()` opens NVML on first use and `release()` closes it after the
last user; readers are reference-counted per NVML module (tests pass their own fake module,
which gets its own session).

On WSL2 the first load happens in a child process (nvml_probe.py): if NVML crashes there,
the app carries on without it.

Lock order: _LOCK only (never held while reading the GPU; NvidiaReader has its own lock).
"""

from __future__ import annotations

import threading
from typing import Any

from tierdeck.core.hardware.nvidia import NvidiaReader
from tierdeck.core.hardware.nvml_probe import is_wsl, probe_in_child

_LOCK = threading.Lock()
_SESSIONS: dict[int, list] = {}  # id(nvml module or None) -> [reader, users]
_PROBED: dict[str, str | None] = {}  # "wsl" -> probe verdict, asked once per process


def acquire(nvml: Any = None, *, wsl: bool | None = None) -> NvidiaReader:
    key = id(nvml)
    with _LOCK:
        entry = _SESSIONS.get(key)
        if entry is not None and entry[0].available:
            entry[1] += 1
            return entry[0]
        if nvml is None and (is_wsl() if wsl is None else wsl):
            if "wsl" not in _PROBED:
                _PROBED["wsl"] = probe_in_child()
            if _PROBED["wsl"] is not None:
                reader = NvidiaReader.unavailable(_PROBED["wsl"])
                _SESSIONS[key] = [reader, 1]
                return reader
        reader = NvidiaReader(nvml)
        _SESSIONS[key] = [reader, 1]
        return reader


def release(reader: NvidiaReader) -> None:
    with _LOCK:
        for key, entry in list(_SESSIONS.items()):
            if entry[0] is reader:
                entry[1] -= 1
                if entry[1] <= 0:
                    del _SESSIONS[key]
                    reader.close()
                return
    reader.close()  # not shared (made directly): close it now
