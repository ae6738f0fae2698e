"""Axis ranges, decimation and label placement for the charts (numpy, no Qt).

Ranges are set here rather than by pyqtgraph's auto-range: counts and rates start at zero,
idle charts keep a readable floor (never "-400 to 400 (x0.001)"), and "nice" round tops keep
an axis from being re-laid out on every redraw. Curves are peak-decimated to about one
min/max pair per couple of pixels before they reach pyqtgraph: a full hour is 3600 rows per
curve, far more than a chart's width can show.
"""

from __future__ import annotations

import math

import numpy as np

from tierdeck.gui.charts.series import MEMORY, SLOTS, TOKENS, UTIL

# The smallest top of each chart's y axis when its data is lower (or all zero).
Y_FLOOR = {TOKENS: 10.0, SLOTS: 1.0, UTIL: 100.0, MEMORY: 0.0}
PX_PER_BUCKET = 4  # one min/max pair per this many pixels
MIN_WINDOW_S = 15.0


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= v (v > 0)."""
    if v <= 0 or not math.isfinite(v):
        return 1.0
    exp = math.floor(math.log10(v))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = m * 10.0**exp
        if top >= v * (1 - 1e-9):
            return top
    return 10.0 ** (exp + 1)


def y_range(chart: str, arrays: list[np.ndarray]) -> tuple[float, float]:
    """Linear (0, top): top is a nice ceiling of the data with 10% headroom, at least the
    chart's floor; utilization is always 0-100."""
    if chart == UTIL:
        return 0.0, 100.0
    peak = max((float(np.nanmax(a)) for a in arrays if len(a) and not np.isnan(a).all()), default=0.0)
    return 0.0, max(Y_FLOOR.get(chart, 1.0), nice_ceiling(peak * 1.1))


def log_y_range(arrays: list[np.ndarray]) -> tuple[float, float]:
    """(low, high) in log10 units around the positive data: decades, so a 12 MiB tier and a
    22 GiB limit are both readable."""
    pos = [a[a > 0] for a in arrays]
    pos = [p for p in pos if len(p)]
    if not pos:
        return -2.0, 1.0
    lo = min(float(np.nanmin(p)) for p in pos)
    hi = max(float(np.nanmax(p)) for p in pos)
    return math.floor(math.log10(lo)), max(math.ceil(math.log10(hi * 1.2)), math.floor(math.log10(lo)) + 1)


def buckets_for(width_px: float) -> int:
    return max(16, int(width_px / PX_PER_BUCKET))


def peak_decimate(t: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most 2 x buckets points: each bucket's min and max, in time order. The newest row
    is always kept as it is (the value a user reads at the right edge). NaN gaps survive:
    a bucket with any NaN row keeps a NaN point."""
    tt, yy = peak_decimate_rows(t, y[np.newaxis, :], buckets)
    return tt[0], yy[0]


def peak_decimate_rows(t: np.ndarray, ys: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """peak_decimate for every row of ys (series on one time axis) in one pass: numpy's
    per-call overhead is paid once per redraw, not once per curve. Returns 2-D (t, y)."""
    n = len(t)
    if n <= 2 * buckets or not len(ys):
        return np.broadcast_to(t, ys.shape), ys
    size = math.ceil((n - 1) / buckets)
    full = ((n - 1) // size) * size
    rows = len(ys)
    yb = ys[:, :full].reshape(rows, -1, size)
    nan = np.isnan(yb)
    gap = nan.any(axis=2)
    if gap.any():
        lo_i = np.where(nan, np.inf, yb).argmin(axis=2)
        hi_i = np.where(nan, -np.inf, yb).argmax(axis=2)
    else:  # the usual case: every server up all through the window
        lo_i, hi_i = yb.argmin(axis=2), yb.argmax(axis=2)
    start = np.arange(yb.shape[1]) * size  # row index of each bucket's first sample
    idx = np.stack([start + np.minimum(lo_i, hi_i), start + np.maximum(lo_i, hi_i)],
                   axis=2).reshape(rows, -1)
    yy = np.take_along_axis(ys, idx, axis=1)
    if gap.any():
        yy[np.repeat(gap, 2, axis=1)] = np.nan
    tail = np.broadcast_to(t[full:], (rows, n - full))
    return np.concatenate([t[idx], tail], axis=1), np.concatenate([yy, ys[:, full:]], axis=1)


def label_positions(values: list[float], span: float, gap_frac: float = 0.09) -> list[float]:
    """Where along its line (0 = left, 1 = right) each horizontal line's label sits, so that
    labels of lines closer than gap_frac of the axis span never overlap: neighbours are
    staggered leftwards. values are in the axis' own units (log10 for a log axis)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    pos = [0.98] * len(values)
    run: list[int] = []
    for i in order:
        if run and abs(values[i] - values[run[-1]]) >= gap_frac * span:
            run = []
        run.append(i)
        pos[i] = 0.98 - 0.24 * ((len(run) - 1) % 4)
    return pos


X_STEPS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)


def x_step(window_s: float, width_px: float, px: float = 2.0) -> float:
    """How far the time axis' right edge moves at a time: about `px` pixels, rounded to a
    step from X_STEPS, so the axis is not re-laid out for sub-pixel moves."""
    want = window_s / max(width_px, 100.0) * px
    return next((s for s in X_STEPS if s >= want), X_STEPS[-1])


def auto_window(first_t: float | None, last_t: float | None, longest: float) -> float:
    """The window that fits how long the app has sampled: from the first sample to now,
    at least MIN_WINDOW_S, at most the longest window."""
    if first_t is None or last_t is None:
        return MIN_WINDOW_S
    return float(min(longest, max(MIN_WINDOW_S, last_t - first_t)))
