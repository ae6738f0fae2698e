"""The usage ledger on real SQLite files: rows, concurrent writers, roll-up, since, prices."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tierdeck.core.gateway.ledger import Ledger, RequestRecord, default_path
from tierdeck.core.gateway.prices import DEFAULT_PRICES, PAID, profile_prices
from tierdeck.core.paths import app_dirs
from tierdeck.core.profiles import ProfileError, profile_from_text
from tierdeck.core.profiles.schema import Price

DAY = 86400.0


def rec(tier: str = "haiku", ts: float | None = None, prompt: int = 1000, cached: int = 0,
        completion: int = 100, status: int = 200, ttft: float | None = 40.0) -> RequestRecord:
    return RequestRecord(ts=time.time() if ts is None else ts, tier=tier,
                         model=f"claude-{tier}-4-5", engine="haiku+sonnet", api="anthropic",
                         status=status, prompt_tokens=prompt, cached_tokens=cached,
                         completion_tokens=completion, ttft_ms=ttft, duration_ms=500.0,
                         stream=True)


def raw_rows(path: Path) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT COUNT(*) FROM requests").fetchone()[0]


def test_rows_are_committed_in_the_users_data_folder_and_read_back():
    ledger = Ledger()
    assert ledger.path == default_path() == app_dirs().data / "usage.sqlite3"
    ledger.record(rec("haiku", prompt=1200, cached=200, completion=300))
    ledger.record(rec("sonnet", prompt=500, completion=50, status=529, ttft=None))
    assert ledger.flush(10)
    # Committed: another connection (another process, in real life) sees both rows.
    assert raw_rows(ledger.path) == 2
    with sqlite3.connect(ledger.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = con.execute("SELECT tier, model, status, ttft_ms, stream FROM requests "
                          "WHERE tier = 'sonnet'").fetchone()
    assert row == ("sonnet", "claude-sonnet-4-5", 529, None, 1)
    last, rows = ledger.rows_after(0)
    back = rows[1]
    assert ledger.rows_after(last) == (last, []) and ledger.rows_after(-1) == (last, [])
    assert back.tier == "sonnet" and back.stream is True and back.ttft_ms is None
    ledger.close()

    u = Ledger().usage()
    # haiku: 1000 uncached x $1 + 200 cached x $0.1 + 300 out x $5 per million
    assert u == {"tiers": {
        "haiku": {"requests": 1, "input_tokens": 1200, "output_tokens": 300,
                  "cost_avoided_usd": round((1000 * 1 + 200 * 0.1 + 300 * 5) / 1e6, 6)},
        "sonnet": {"requests": 1, "input_tokens": 500, "output_tokens": 50,
                   "cost_avoided_usd": round((500 * 3 + 50 * 15) / 1e6, 6)},
    }}


def test_record_does_not_wait_for_the_disk(tmp_path):
    """record() only queues: while another connection holds the write lock, it returns at
    once and the row lands when the lock is released."""
    ledger = Ledger(tmp_path / "u.sqlite3")
    blocker = sqlite3.connect(ledger.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    ledger.record(rec())  # returns although the writer cannot commit yet
    assert not ledger.flush(timeout=0.3)
    blocker.execute("COMMIT")
    blocker.close()
    assert ledger.flush(10)
    assert raw_rows(ledger.path) == 1
    ledger.close()
    with pytest.raises(RuntimeError):
        ledger.record(rec())


def test_concurrent_writers_lose_nothing(tmp_path):
    """Threads sharing one Ledger, a second Ledger on the same file, and another process."""
    path = tmp_path / "u.sqlite3"
    a, b = Ledger(path), Ledger(path)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from tierdeck.core.gateway.ledger import Ledger, RequestRecord
        led = Ledger({str(path)!r})
        for i in range(150):
            led.record(RequestRecord(time.time(), "opus", "m", "e", "openai", 200,
                                     10, 0, 1, None, 1.0, False))
        assert led.flush(60)
        led.close()
    """)])

    def burst(ledger: Ledger, tier: str) -> None:
        for _ in range(50):
            ledger.record(rec(tier, prompt=10, completion=1))

    threads = [threading.Thread(target=burst, args=(led, t))
               for led, t in ((a, "haiku"), (a, "haiku"), (b, "sonnet"), (b, "sonnet"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.flush(60) and b.flush(60)
    assert child.wait(120) == 0
    assert a.failed == b.failed == 0
    u = a.usage()["tiers"]
    assert {k: v["requests"] for k, v in u.items()} == {"haiku": 100, "sonnet": 100, "opus": 150}
    a.close()
    b.close()


def test_old_rows_roll_up_into_daily_sums_that_still_count(tmp_path):
    now = time.time()
    ledger = Ledger(tmp_path / "u.sqlite3", keep_days=30, rollup_every_s=None)
    old = [rec("haiku", ts=now - 40 * DAY), rec("haiku", ts=now - 40 * DAY + 60, ttft=60.0),
           rec("sonnet", ts=now - 35 * DAY, status=500, completion=0, ttft=None)]
    new = [rec("haiku", ts=now - 3600)]
    for r in old + new:
        ledger.record(r)
    assert ledger.flush(10)
    before = ledger.usage()
    days_before = {(b.tier, b.requests) for b in ledger.series("day")}

    assert ledger.roll_up(now) == 3
    assert raw_rows(ledger.path) == 1  # only the recent row stays raw
    assert ledger.usage() == before
    assert ledger.roll_up(now) == 0  # nothing more to fold
    day = ledger.series("day")
    assert {(b.tier, b.requests) for b in day} == days_before
    haiku_old = next(b for b in day if b.tier == "haiku" and b.start < now - 30 * DAY)
    assert haiku_old.requests == 2 and haiku_old.ttft_ms_mean == pytest.approx(50.0)
    assert next(b for b in day if b.tier == "sonnet").errors == 1
    # Hour buckets need raw rows: only the recent hour is there.
    assert [(b.tier, b.requests) for b in ledger.series("hour")] == [("haiku", 1)]
    # A row for a day already rolled up (a late writer) folds into the same daily row.
    ledger.record(rec("haiku", ts=now - 40 * DAY + 120))
    assert ledger.flush(10)
    ledger.roll_up(now)
    assert ledger.usage()["tiers"]["haiku"]["requests"] == 4
    ledger.close()


def test_the_writer_rolls_up_on_its_own(tmp_path):
    ledger = Ledger(tmp_path / "u.sqlite3", keep_days=30)  # default: folds with its first row
    ledger.record(rec("haiku", ts=time.time() - 40 * DAY))
    ledger.record(rec("haiku"))
    assert ledger.flush(10)
    assert raw_rows(ledger.path) == 1
    assert ledger.usage()["tiers"]["haiku"]["requests"] == 2
    ledger.close()


def test_since_filter_on_raw_and_rolled_up_rows(tmp_path):
    now = time.time()
    ledger = Ledger(tmp_path / "u.sqlite3", keep_days=30, rollup_every_s=None)
    for ts in (now - 2 * 3600, now - 3 * DAY, now - 45 * DAY):
        ledger.record(rec("haiku", ts=ts))
    assert ledger.flush(10)
    ledger.roll_up(now)
    assert ledger.usage(since=now - DAY)["tiers"]["haiku"]["requests"] == 1
    assert ledger.usage(since=now - 7 * DAY)["tiers"]["haiku"]["requests"] == 2
    assert ledger.usage(since=now - 60 * DAY)["tiers"]["haiku"]["requests"] == 3
    assert ledger.usage(since=now)["tiers"] == {}
    hours = ledger.series("hour", since=now - DAY)
    assert len(hours) == 1 and hours[0].start <= now - 2 * 3600 < hours[0].start + 3600
    ledger.close()


def test_profile_prices_override_the_defaults(tmp_path):
    prof = profile_from_text(textwrap.dedent("""\
        tiers:
          haiku:
            model: builtin:demo
            price: {input: 0.8, output: 4}
          fast:
            model: builtin:demo
            slot: sonnet
          odd:
            model: builtin:demo
            slot: none
          opus:
            kind: remote
            model: claude-opus-4-5
        """), tmp_path / "p.yaml")
    prices = profile_prices(prof)
    assert prices == {"haiku": Price(0.8, 4.0), "fast": DEFAULT_PRICES["sonnet"], "opus": PAID}
    ledger = Ledger(tmp_path / "u.sqlite3")
    for t in ("haiku", "fast", "odd", "opus"):
        ledger.record(rec(t, prompt=1_000_000, completion=1_000_000))
    assert ledger.flush(10)
    cost = {k: v["cost_avoided_usd"] for k, v in ledger.usage(prices=prices)["tiers"].items()}
    assert cost == {"haiku": 4.8, "fast": 18.0, "odd": 0.0, "opus": 0.0}
    # Without the profile, tiers are priced by their name's family only.
    cost = {k: v["cost_avoided_usd"] for k, v in ledger.usage()["tiers"].items()}
    assert cost == {"haiku": 6.0, "fast": 0.0, "odd": 0.0, "opus": 30.0}
    ledger.close()


@pytest.mark.parametrize("body, message", [
    ("price: 3", "expected a mapping like {input: 1.0, output: 5.0}"),
    ("price: {input: 1}", "missing output"),
    ("price: {input: 1, output: -5}", "output: expected a number >= 0"),
    ("price: {input: 1, output: 5, cached: 1}", "unknown key 'cached'"),
])
def test_bad_price_names_file_line_and_key(tmp_path, body, message):
    text = f"tiers:\n  haiku:\n    model: builtin:demo\n    {body}\n"
    with pytest.raises(ProfileError) as ei:
        profile_from_text(text, tmp_path / "p.yaml")
    [issue] = ei.value.issues
    assert (issue.line, issue.key) == (4, "tiers.haiku.price")
    assert str(issue).startswith(f"{tmp_path / 'p.yaml'}:4: tiers.haiku.price: ")
    assert message in issue.message


def test_rolled_up_rows_give_their_pages_back(tmp_path):
    ledger = Ledger(tmp_path / "u.sqlite3", keep_days=30, rollup_every_s=None)
    old = time.time() - 40 * DAY
    for i in range(3000):
        ledger.record(rec("haiku", ts=old + i))
    assert ledger.flush(60)

    def pages() -> int:
        with sqlite3.connect(ledger.path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return con.execute("PRAGMA page_count").fetchone()[0]

    before = pages()
    assert ledger.roll_up() == 3000
    after = pages()
    assert after < before / 4, (before, after)
    assert ledger.usage()["tiers"]["haiku"]["requests"] == 3000
    ledger.close()


def test_any_record_with_the_fields_is_stored_by_name(tmp_path):
    """The gateway may carry its own copy of RequestRecord: fields are matched by name."""
    from dataclasses import fields as dc_fields
    from dataclasses import make_dataclass

    names = [(f.name, f.type) for f in dc_fields(RequestRecord)]
    Other = make_dataclass("Other", list(reversed(names)))  # noqa: N806
    r = rec("sonnet", prompt=321, completion=12)
    ledger = Ledger(tmp_path / "u.sqlite3")
    ledger.record(Other(**{n: getattr(r, n) for n, _ in names}))
    assert ledger.flush(10)
    [back] = ledger.rows_after(0)[1]
    assert back == r
    ledger.close()
