from __future__ import annotations

import pytest

from tierdeck.core.quickbench import BenchResult, BenchRun, bandwidth_bound_tps


def test_means_and_stdev():
    def run(ptps: float, gtps: float, wall: float) -> BenchRun:
        return BenchRun(prompt_tokens=10, gen_tokens=32, prompt_tps=ptps, gen_tps=gtps, wall_s=wall)

    r = BenchResult("http://x", runs=[run(100.0, 50.0, 0.5), run(300.0, 70.0, 0.7)],
                    bandwidth_tps=90.0)
    assert r.prompt_tps == 200.0 and r.gen_tps == 60.0
    assert r.wall_mean_s == pytest.approx(0.6)
    assert r.wall_stdev_s == pytest.approx(0.1414, abs=1e-3)
    s = r.summary()
    assert "2 requests" in s and "generation 60.0 tok/s" in s and "bandwidth bound 90.0 tok/s" in s


def test_empty_and_bandwidth_bound():
    r = BenchResult("http://x")
    assert r.gen_tps is None and r.wall_stdev_s is None and "n/a" in r.summary()
    assert bandwidth_bound_tps(1_000_000_000, 1e12) == 1000.0
    assert bandwidth_bound_tps(None, 1e12) is None
