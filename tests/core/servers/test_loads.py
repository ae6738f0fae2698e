"""loads.jsonl: one record per load, fields kept for calibration, bounded by rotation."""

import json

from tierdeck.core.servers.loads import append_load, load_record, loads_path, read_loads


def rec(i: int) -> dict:
    r = load_record("p", f"t{i:03d}", "/m.gguf", ["llama-server", "-c", "512"], 1000 + i,
                    {"ctx_per_slot": 512}, {"total": 900 + i})
    r["time"] = 1.5  # every line the same length: the counts below are exact
    return r


def test_record_fields_are_the_calibration_contract():
    append_load(rec(0))
    [line] = loads_path().read_text().splitlines()
    d = json.loads(line)
    assert set(d) >= {"time", "profile", "tier", "model", "command", "planned_bytes", "plan",
                      "loaded"}
    assert d["planned_bytes"] == 1000 and d["loaded"] == {"total": 900} and d["tier"] == "t000"


def test_rotation_bounds_the_files_and_keeps_the_newest(tmp_path):
    path = tmp_path / "loads.jsonl"
    size = len(json.dumps(rec(0))) + 1
    for i in range(100):
        append_load(rec(i), path=path, max_bytes=10 * size, keep=3)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["loads.jsonl", "loads.jsonl.1", "loads.jsonl.2"]
    assert all(p.stat().st_size <= 10 * size for p in tmp_path.iterdir())
    kept = [r["tier"] for r in read_loads(path, keep=3)]
    assert kept == [f"t{i:03d}" for i in range(70, 100)]  # the newest 3 x 10, oldest first


def test_a_cut_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "loads.jsonl"
    append_load(rec(1), path=path)
    with open(path, "a") as f:
        f.write('{"time": 1, "tier": "cut')  # a crash mid-write
    append_load(rec(2), path=path)
    assert [r["tier"] for r in read_loads(path)] == ["t001", "t002"]
