"""The usage ledger: one SQLite row per gateway request, and the sums the CLI and window show.

The gateway calls record() from its event loop; the row goes onto a queue that one writer
thread drains, committing each row as it arrives, so a request never waits on the disk and
a crash loses at most the rows still queued. WAL lets the window and `tierdeck usage` read
while the gateway writes; several writers (two gateways, tests) take turns through SQLite's
own lock and busy timeout.

Rows older than `keep_days` roll up into one row per local day and tier (daily sums): the
file stays small however long the gateway runs, and rolled-up days still count in totals
and in day buckets (hour buckets need the raw rows).

Lock order: Ledger._cond is the only lock here and is never held while calling SQLite or
waiting on the queue. The writer thread owns its connection; every query opens its own.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from tierdeck.core.gateway.prices import cost_usd, price_of
from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.profiles.schema import Price

log = logging.getLogger(__name__)

KEEP_DAYS = 30
ROLLUP_EVERY_S = 3600.0
BUSY_TIMEOUT_S = 30.0
BUCKETS = {"hour": 3600, "day": 86400}
# Epoch of the local midnight starting the day of `ts`: days follow the user's calendar.
_LOCAL_DAY = "CAST(strftime('%s', date({0}, 'unixepoch', 'localtime'), 'utc') AS REAL)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, tier TEXT NOT NULL, model TEXT NOT NULL,
    engine TEXT NOT NULL, api TEXT NOT NULL, status INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, ttft_ms REAL, duration_ms REAL NOT NULL,
    stream INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
CREATE TABLE IF NOT EXISTS daily (
    day_start REAL NOT NULL, tier TEXT NOT NULL, requests INTEGER NOT NULL,
    errors INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, ttft_sum_ms REAL NOT NULL, ttft_n INTEGER NOT NULL,
    duration_sum_ms REAL NOT NULL, PRIMARY KEY (day_start, tier));
"""


@dataclass
class RequestRecord:
    """One request as the gateway saw it end.

    ts: wall-clock time the request ended (epoch seconds). prompt_tokens counts the whole
    prompt, cached_tokens the part of it llama-server reused from its cache. ttft_ms: time
    to the first output token, None when none came (errors, count_tokens).
    """

    ts: float
    tier: str
    model: str  # the model name the client asked for
    engine: str  # the llama-server (or remote) that served it
    api: str  # "anthropic" | "openai" | ...
    status: int  # HTTP status sent to the client
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    ttft_ms: float | None
    duration_ms: float
    stream: bool


@dataclass
class Bucket:
    """One tier over one hour or day: what a usage chart draws."""

    start: float  # epoch seconds of the bucket's first instant
    tier: str
    requests: int
    errors: int
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    ttft_ms_mean: float | None
    duration_s: float  # summed request time: output_tokens / duration_s is a mean speed
    cost_avoided_usd: float


def default_path() -> Path:
    return app_dirs().data / "usage.sqlite3"


class Ledger:
    def __init__(self, path: Path | None = None, *, keep_days: float = KEEP_DAYS,
                 rollup_every_s: float | None = ROLLUP_EVERY_S):
        """rollup_every_s: how often the writer folds old rows (first time: with its first
        row); None leaves roll_up() to the caller."""
        self.path = Path(path) if path is not None else default_path()
        self.keep_days = keep_days
        self.rollup_every_s = rollup_every_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._queued = 0  # rows handed to record(), guarded by _cond
        self._done = 0  # rows the writer finished with (committed or failed), guarded by _cond
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failed = 0  # rows the writer could not commit (logged with the reason)
        ensure_dir(self.path.parent)
        self._connect().close()  # create the file and tables now: errors surface here

    # --- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        # auto_vacuum only takes effect before the first table: rolled-up pages go back to
        # the file system instead of lingering as free pages.
        con.execute("PRAGMA auto_vacuum = INCREMENTAL")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints
        con.executescript(_SCHEMA)
        return con

    # --- writing -----------------------------------------------------------------------
    def record(self, rec: RequestRecord) -> None:
        """Queue one row; returns at once (safe to call from an asyncio loop)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("ledger is closed")
            self._queued += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="tierdeck-ledger",
                                                daemon=True)
                self._thread.start()
            self._queue.put(rec)  # under the lock: never behind close()'s end marker

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every row recorded so far is committed; False on timeout."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Commit what is queued, then stop the writer."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _writer(self) -> None:
        try:
            con = self._connect()
        except sqlite3.Error as e:  # e.g. the folder became unwritable: count, say, drain
            log.error("usage ledger %s: cannot open: %s; requests go unrecorded", self.path, e)
            while self._queue.get() is not None:
                self.failed += 1
                with self._cond:
                    self._done += 1
                    self._cond.notify_all()
            return
        next_rollup = 0.0
        names = [f.name for f in fields(RequestRecord)]
        sql = f"INSERT INTO requests ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        try:
            while True:
                rec = self._queue.get()
                if rec is None:
                    return
                try:
                    # By name: any object with these fields will do (the gateway may keep
                    # its own copy of the dataclass), whatever their order.
                    con.execute(sql, [getattr(rec, n) for n in names])  # one commit per row
                except sqlite3.Error as e:
                    self.failed += 1
                    log.error("usage ledger %s: could not record a %s request: %s",
                              self.path, rec.tier, e)
                with self._cond:
                    self._done += 1
                    self._cond.notify_all()
                if self.rollup_every_s is not None and time.monotonic() >= next_rollup:
                    next_rollup = time.monotonic() + self.rollup_every_s
                    try:
                        self._roll_up(con, time.time())
                    except sqlite3.Error as e:  # the rows stay raw; the next round retries
                        log.warning("usage ledger %s: roll-up failed: %s", self.path, e)
        finally:
            con.close()

    def roll_up(self, now: float | None = None) -> int:
        """Fold rows of whole days older than keep_days into daily sums; returns rows folded."""
        con = self._connect()
        try:
            return self._roll_up(con, time.time() if now is None else now)
        finally:
            con.close()

    def _roll_up(self, con: sqlite3.Connection, now: float) -> int:
        cutoff = con.execute(f"SELECT {_LOCAL_DAY.format('?')}",
                             (now - self.keep_days * 86400,)).fetchone()[0]
        con.execute("BEGIN IMMEDIATE")  # one writer folds at a time; readers see before/after
        try:
            con.execute(f"""
                INSERT INTO daily SELECT {_LOCAL_DAY.format('ts')} AS d, tier, COUNT(*),
                    SUM(status >= 400), SUM(prompt_tokens), SUM(cached_tokens),
                    SUM(completion_tokens), COALESCE(SUM(ttft_ms), 0), COUNT(ttft_ms),
                    SUM(duration_ms)
                FROM requests WHERE ts < ? GROUP BY d, tier
                ON CONFLICT (day_start, tier) DO UPDATE SET
                    requests = requests + excluded.requests, errors = errors + excluded.errors,
                    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                    cached_tokens = cached_tokens + excluded.cached_tokens,
                    completion_tokens = completion_tokens + excluded.completion_tokens,
                    ttft_sum_ms = ttft_sum_ms + excluded.ttft_sum_ms,
                    ttft_n = ttft_n + excluded.ttft_n,
                    duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms""", (cutoff,))
            n = con.execute("DELETE FROM requests WHERE ts < ?", (cutoff,)).rowcount
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if n:
            # executescript steps it to the end; execute() would free a single page
            con.executescript("PRAGMA incremental_vacuum;")
        return n

    # --- reading -----------------------------------------------------------------------
    def usage(self, since: float | None = None,
              prices: Mapping[str, Price] | None = None) -> dict:
        """{"tiers": {tier: {requests, input_tokens, output_tokens, cost_avoided_usd}}}.

        since: epoch seconds; rolled-up days count when any part of them is after it.
        prices: tier -> Price (core.gateway.prices.profile_prices); others by family name.
        """
        totals: dict[str, list[int]] = {}
        for b in self._sums("NULL", 0, since):
            t = totals.setdefault(b[1], [0, 0, 0, 0])
            t[0] += b[2]
            t[1] += b[4]
            t[2] += b[5]
            t[3] += b[6]
        tiers = {}
        for tier in sorted(totals):
            n, prompt, cached, completion = totals[tier]
            cost = cost_usd(price_of(tier, prices), prompt, cached, completion)
            tiers[tier] = {"requests": n, "input_tokens": prompt, "output_tokens": completion,
                           "cost_avoided_usd": round(cost, 6)}
        return {"tiers": tiers}

    def series(self, bucket: str = "hour", since: float | None = None,
               prices: Mapping[str, Price] | None = None) -> list[Bucket]:
        """Per tier per hour (raw rows only) or per local day (raw + rolled up), oldest first."""
        if bucket not in BUCKETS:
            raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
        key = "CAST(ts / 3600 AS INTEGER) * 3600.0" if bucket == "hour" else _LOCAL_DAY.format("ts")
        merged: dict[tuple[float, str], list] = {}
        for row in self._sums(key, 1 if bucket == "day" else None, since):
            start, tier, *vals = row
            acc = merged.setdefault((start, tier), [0] * len(vals))
            for i, v in enumerate(vals):
                acc[i] += v or 0
        out = []
        for (start, tier), (n, err, prompt, cached, completion, tsum, tn, dsum) in sorted(merged.items()):
            out.append(Bucket(start, tier, n, err, prompt, cached, completion,
                              tsum / tn if tn else None, dsum / 1000.0,
                              cost_usd(price_of(tier, prices), prompt, cached, completion)))
        return out

    def _sums(self, key: str, with_daily: int | None, since: float | None) -> list[tuple]:
        """(bucket, tier, requests, errors, prompt, cached, completion, ttft_sum, ttft_n,
        duration_sum) from raw rows, plus the daily table unless with_daily is None."""
        lo = float("-inf") if since is None else since
        sql = f"""SELECT {key} AS b, tier, COUNT(*), SUM(status >= 400), SUM(prompt_tokens),
                    SUM(cached_tokens), SUM(completion_tokens), COALESCE(SUM(ttft_ms), 0),
                    COUNT(ttft_ms), SUM(duration_ms)
                  FROM requests WHERE ts >= ? GROUP BY b, tier"""
        args: tuple = (lo,)
        if with_daily is not None:
            dkey = "day_start" if key != "NULL" else "NULL"
            sql += f""" UNION ALL SELECT {dkey}, tier, requests, errors, prompt_tokens,
                    cached_tokens, completion_tokens, ttft_sum_ms, ttft_n, duration_sum_ms
                  FROM daily WHERE day_start + 86400 > ?"""
            args += (lo,)
        con = self._connect()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def rows_after(self, row_id: int, limit: int = 10_000) -> tuple[int, list[RequestRecord]]:
        """Rows committed after row id `row_id` (0: from the start; -1: none, just the newest
        id), and the id to pass next time: an incremental read for live rates."""
        con = self._connect()
        try:
            if row_id < 0:
                return con.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0], []
            rows = con.execute(
                f"SELECT id, {', '.join(f.name for f in fields(RequestRecord))} FROM requests "
                "WHERE id > ? ORDER BY id LIMIT ?", (row_id, limit)).fetchall()
        finally:
            con.close()
        last = rows[-1][0] if rows else row_id
        return last, [RequestRecord(*r[1:-1], bool(r[-1])) for r in rows]
