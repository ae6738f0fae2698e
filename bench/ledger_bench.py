"""The usage ledger's cost to the gateway and its size on disk.

    .venv/bin/python bench/ledger_bench.py [--rows 20000]

Prints (a) how long record() holds the caller (the gateway's event loop) per request,
side by side with a plain INSERT + COMMIT done inline (what a naive gateway would pay);
(b) rows the writer thread commits per second, one commit per row; (c) the file size with
30 days of raw rows and after those rows roll up into daily sums.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from dataclasses import astuple, fields
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    n = ap.parse_args().rows
    from tierdeck.core.gateway.ledger import Ledger, RequestRecord  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="tierdeck-ledgerbench-"))
    now = time.time()

    def row(i: int, ts: float) -> RequestRecord:
        return RequestRecord(ts, ("haiku", "sonnet", "opus")[i % 3], "claude-haiku-4-5",
                             "haiku+sonnet", "anthropic", 200, 1500 + i % 700, 1024,
                             120 + i % 300, 35.0, 900.0, True)

    # (a) time in the caller: queued record() vs an inline INSERT + COMMIT
    led = Ledger(folder / "queued.sqlite3", rollup_every_s=None)
    calls = []
    t0 = time.perf_counter()
    for i in range(n):
        a = time.perf_counter()
        led.record(row(i, now))
        calls.append(time.perf_counter() - a)
    assert led.flush(600)
    drain = time.perf_counter() - t0
    led.close()
    inline = []
    con = sqlite3.connect(folder / "inline.sqlite3", isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    cols = [f.name for f in fields(RequestRecord)]
    con.execute(f"CREATE TABLE requests ({', '.join(cols)})")
    sql = f"INSERT INTO requests VALUES ({', '.join('?' * len(cols))})"
    for i in range(min(n, 5000)):
        a = time.perf_counter()
        con.execute(sql, astuple(row(i, now)))
        inline.append(time.perf_counter() - a)
    con.close()

    def pct(xs: list[float], p: float) -> float:
        return sorted(xs)[int(p * (len(xs) - 1))] * 1e6

    print(f"(a) time in the caller per request: record() p50 {pct(calls, .5):.1f} us, "
          f"p99 {pct(calls, .99):.1f} us | inline INSERT+COMMIT p50 {pct(inline, .5):.1f} us, "
          f"p99 {pct(inline, .99):.1f} us")
    print(f"(b) writer thread: {n} rows committed one by one in {drain:.2f} s "
          f"= {n / drain:,.0f} rows/s")

    # (c) size: 30 days x n/30 rows per day, raw, then rolled up (keep 0 days: all fold)
    led = Ledger(folder / "month.sqlite3", keep_days=0, rollup_every_s=None)
    for i in range(n):
        led.record(row(i, now - 31 * 86400 + (i / n) * 30 * 86400))
    assert led.flush(600)
    raw = (folder / "month.sqlite3").stat().st_size
    before = led.usage()
    a = time.perf_counter()
    folded = led.roll_up(now)
    took = time.perf_counter() - a
    assert led.usage() == before, "roll-up changed the totals"
    con = sqlite3.connect(folder / "month.sqlite3")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    after = (folder / "month.sqlite3").stat().st_size
    led.close()
    print(f"(c) {n} rows over 30 days: {raw / 1024:,.0f} KiB raw; rolled up {folded} rows "
          f"in {took * 1000:.0f} ms -> {after / 1024:,.0f} KiB (totals unchanged)")
    print(f"    median record() {statistics.median(calls) * 1e6:.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
