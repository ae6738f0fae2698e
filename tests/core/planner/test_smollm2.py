"""The planner against a real model: SmolLM2-135M-Instruct Q4_1 (the demo's builtin:smollm2)
loaded by a real llama-server at -c 8192 -np 2. Weights, KV cache and compute must match the
log to its two decimals (92.10, 180.00 MiB); compute, a model, to within those 0.01 MiB
(18.64 MiB in the log)."""

from __future__ import annotations

import pytest

from tierdeck.core.demo import SMOLLM2_INSTALL, SMOLLM2_TOKEN, builtin_model_path, smollm2_path
from tierdeck.core.gguf import read_facts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import PlanRequest, estimate
from tierdeck.core.units import GiB

from .servers import load_memory

MiB = 1024 * 1024
CPU = Device(0, "cpu", "test", 64 * GiB, 64 * GiB, 64 * GiB, 0, "test")


@pytest.fixture(scope="module")
def smollm2():
    path = smollm2_path()
    if path is None:  # a setup step, not an optional extra: say what is missing
        pytest.fail(f"the demo model package is not installed: {SMOLLM2_INSTALL}")
    return path


def test_builtin_token_points_at_the_package_file(smollm2):
    assert builtin_model_path(SMOLLM2_TOKEN) == smollm2
    assert smollm2.stat().st_size > 90 * MiB


def test_planner_matches_llama_server_on_smollm2(smollm2, llama_server_bin, tmp_path):
    f = read_facts(smollm2)
    est = estimate(f, PlanRequest(ctx_per_slot=4096, parallel=2), CPU)
    mem, text = load_memory(llama_server_bin, smollm2, ["-c", "8192", "-np", "2"],
                            tmp_path / "smollm2.log")

    def mib(b: int) -> float:
        return round(b / MiB, 2)

    assert (mib(mem.model_total), mib(mem.kv_total), mib(mem.compute_total)) == (92.10, 180.00, 18.64), \
        text[-2000:]
    assert mib(est.weights_bytes) == mib(mem.model_total)
    assert mib(est.kv_bytes) == mib(mem.kv_total)
    # compute is modelled, not counted: 18.6455 MiB against the log's "18.64" (it prints two
    # decimals), so within the log's own resolution
    assert abs(est.compute_bytes - mem.compute_total) <= 0.01 * MiB
    assert mem.n_ctx_slot == est.ctx_per_slot == 4096
