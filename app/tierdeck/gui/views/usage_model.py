"""What the Usage tab shows, computed without Qt: the ledger's buckets as aligned chart arrays
and a per-tier summary. load_usage() reads the ledger (I/O: call it off the UI thread)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tierdeck.core.gateway.ledger import Bucket, Ledger
from tierdeck.core.profiles.schema import Price

# (label, bucket, how far back in seconds; None = everything)
RANGES: list[tuple[str, str, float | None]] = [
    ("Last 24 hours, per hour", "hour", 86400.0),
    ("Last 7 days, per hour", "hour", 7 * 86400.0),
    ("Last 30 days, per day", "day", 30 * 86400.0),
    ("Everything, per day", "day", None),
]
FIELDS = ("tokens", "requests", "ttft_ms", "cost_usd")


@dataclass
class UsageRow:
    tier: str
    requests: int
    input_tokens: int
    output_tokens: int
    ttft_ms: float | None  # mean over the range's requests that produced a token
    cost_usd: float

    @property
    def cells(self) -> list[str]:
        return [self.tier, f"{self.requests:,d}", f"{self.input_tokens:,d}",
                f"{self.output_tokens:,d}",
                "—" if self.ttft_ms is None else f"{self.ttft_ms:,.0f} ms",
                f"${self.cost_usd:,.2f}"]


COLUMNS = ["tier", "requests", "input tokens", "output tokens", "mean time to first token",
           "API cost avoided"]


@dataclass
class UsageModel:
    bucket: str  # "hour" | "day"
    bucket_s: float
    starts: np.ndarray  # bucket start times (epoch s), oldest first, shared by every tier
    series: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # tier -> field -> y
    rows: list[UsageRow] = field(default_factory=list)

    @property
    def tiers(self) -> list[str]:
        return list(self.series)

    @property
    def total_cost(self) -> float:
        return sum(r.cost_usd for r in self.rows)

    @property
    def summary(self) -> str:
        if not self.rows:
            return "No requests through the gateway in this range."
        n = sum(r.requests for r in self.rows)
        return (f"{n:,d} requests, {sum(r.input_tokens + r.output_tokens for r in self.rows):,d} "
                f"tokens; API cost avoided: ${self.total_cost:,.2f}")


def usage_model(buckets: list[Bucket], bucket: str) -> UsageModel:
    """Align ledger buckets on one time axis: a tier with no request in a bucket draws 0
    (tokens, requests, cost) or a gap (time to first token)."""
    starts = np.array(sorted({b.start for b in buckets}), dtype=float)
    index = {s: i for i, s in enumerate(starts)}
    series: dict[str, dict[str, np.ndarray]] = {}
    acc: dict[str, list] = {}
    for b in buckets:
        s = series.setdefault(b.tier, {
            "tokens": np.zeros(len(starts)), "requests": np.zeros(len(starts)),
            "ttft_ms": np.full(len(starts), np.nan), "cost_usd": np.zeros(len(starts))})
        i = index[b.start]
        s["tokens"][i] = b.input_tokens + b.output_tokens
        s["requests"][i] = b.requests
        s["cost_usd"][i] = b.cost_avoided_usd
        if b.ttft_ms_mean is not None:
            s["ttft_ms"][i] = b.ttft_ms_mean
        a = acc.setdefault(b.tier, [0, 0, 0, 0.0, 0.0, 0.0])
        a[0] += b.requests
        a[1] += b.input_tokens
        a[2] += b.output_tokens
        a[3] += b.cost_avoided_usd
        if b.ttft_ms_mean is not None:  # weight each bucket's mean by its requests
            a[4] += b.ttft_ms_mean * b.requests
            a[5] += b.requests
    rows = [UsageRow(t, a[0], a[1], a[2], a[4] / a[5] if a[5] else None, a[3])
            for t, a in sorted(acc.items())]
    return UsageModel(bucket, 3600.0 if bucket == "hour" else 86400.0, starts,
                      dict(sorted(series.items())), rows)


def load_usage(range_index: int, prices: Mapping[str, Price] | None = None,
               path: Path | None = None, now: float | None = None) -> UsageModel:
    """Read the ledger for one of RANGES (blocking: a worker thread's job)."""
    _label, bucket, back = RANGES[range_index]
    since = None if back is None else (time.time() if now is None else now) - back
    ledger = Ledger(path, rollup_every_s=None)  # a reader: never writes, never folds
    return usage_model(ledger.series(bucket, since=since, prices=prices), bucket)
