"""Fixed-size ring buffers: one row per sampling round, one column per series.

Memory stays flat however long TierDeck runs: capacity rows x (1 + number of series)
float64. A series that has been NaN for a whole buffer (a tier removed long ago) is dropped.

One lock guards every access; readers get copies, so the sampler thread (writer) and the
UI thread (reader) never see a half-written row and never block each other for more than a
memcpy.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.metrics.samples import Sample

DEFAULT_CAPACITY = 3600  # one hour at 1 Hz


@dataclass
class Window:
    """Copies of the newest rows, oldest first."""

    t: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)


class MetricsStore:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 2:
            raise ValueError("capacity must be at least 2 rows")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._t = np.full(capacity, np.nan)
        self._cols: dict[str, np.ndarray] = {}
        self._head = 0  # next row to write
        self._n = 0
        self._version = 0
        self._latest: Sample | None = None
        self._since_prune = 0

    # --- writer side -------------------------------------------------------------------
    def add_sample(self, sample: Sample) -> None:
        self.append(sample.t, sample.flat(), latest=sample)

    def append(self, t: float, values: Mapping[str, float], *, latest: Sample | None = None) -> None:
        with self._lock:
            i = self._head
            if self._n:
                # Wall time may step back (NTP); keep x monotonic so windows stay sorted.
                t = max(t, float(self._t[(i - 1) % self.capacity]))
            self._t[i] = t
            for key in values.keys() - self._cols.keys():
                self._cols[key] = np.full(self.capacity, np.nan)
            for key, col in self._cols.items():
                v = values.get(key)
                col[i] = np.nan if v is None else v
            self._head = (i + 1) % self.capacity
            self._n = min(self._n + 1, self.capacity)
            self._version += 1
            if latest is not None:
                self._latest = latest
            self._since_prune += 1
            if self._since_prune >= self.capacity:
                self._since_prune = 0
                for key in [k for k, c in self._cols.items() if np.isnan(c).all()]:
                    del self._cols[key]

    def clear(self) -> None:
        with self._lock:
            self._t[:] = np.nan
            self._cols.clear()
            self._head = self._n = 0
            self._latest = None
            self._version += 1

    # --- reader side -------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows with every row: a reader redraws when it differs from what it drew."""
        return self._version

    def __len__(self) -> int:
        return self._n

    @property
    def latest(self) -> Sample | None:
        return self._latest

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._cols)

    def window(self, seconds: float | None = None, keys: Iterable[str] | None = None) -> Window:
        """The newest rows covering `seconds` of time (all rows when None)."""
        with self._lock:
            oldest = self._head if self._n == self.capacity else 0
            order = (np.arange(self._n) + oldest) % self.capacity  # row positions, oldest first
            t = self._t[order]
            if seconds is not None and len(t):
                start = int(np.searchsorted(t, t[-1] - seconds, side="left"))
                order, t = order[start:], t[start:]
            wanted = self._cols.keys() if keys is None else [k for k in keys if k in self._cols]
            return Window(t, {k: self._cols[k][order] for k in wanted})

    def last(self, key: str) -> float | None:
        """The newest value of a series, None when unknown."""
        with self._lock:
            col = self._cols.get(key)
            if col is None or not self._n:
                return None
            v = float(col[(self._head - 1) % self.capacity])
            return None if math.isnan(v) else v

    def to_csv(self, path: str | Path) -> Path:
        """All buffered rows: a `time` column (epoch seconds) and one column per series."""
        w = self.window()
        keys = sorted(w.series)
        lines: list[list[str]] = [["time", *keys]]
        for i, t in enumerate(w.t):
            row = [f"{t:.3f}"]
            for k in keys:
                v = w.series[k][i]
                row.append("" if math.isnan(v) else f"{v:.6g}")
            lines.append(row)
        path = Path(path)
        atomic_write_text(path, _csv_text(lines), mode=0o644)
        return path


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()
