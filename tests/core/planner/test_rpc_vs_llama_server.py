"""The multi-device planner against real processes: two llama.cpp rpc-servers on 127.0.0.1 and a
llama-server that spreads a generated model over both (`--rpc a,b --tensor-split ...`).

Weights and KV per device are deterministic: each RPC device's `model buffer` and `KV buffer`
lines (named `RPC0[host:port]` after the endpoint in this build) must equal the planner's
numbers to the log's 0.01 MiB, and llama.cpp must place the layers where the planner said
(the split matches). The host keeps token_embd (`CPU_Mapped`).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tierdeck.core.gguf import read_facts
from tierdeck.core.gguf.synth import Q, dense_model, gemma3_swa, qwen35_hybrid, write_model
from tierdeck.core.planner import PlanRequest
from tierdeck.core.planner.multi import estimate_split
from tierdeck.core.planner.multi_fit import fit_split
from tierdeck.core.planner.rpc import find_rpc_server, rpc_device, rpc_server_command
from tierdeck.core.units import MiB

from .servers import free_port, load_memory, stop_group


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rpc-server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"rpc-server did not listen on {port}")


@pytest.fixture(scope="module")
def rpc_hosts(llama_server_bin, tmp_path_factory):
    """Two real rpc-servers on loopback; stopped (by pid) at the end."""
    binary = find_rpc_server(llama_server_bin)
    if binary is None:
        pytest.fail(f"no rpc-server beside {llama_server_bin}: the test command builds llama.cpp "
                    "with -DGGML_RPC=ON (packaging/ensure_llama_server.py)")
    d = tmp_path_factory.mktemp("rpc")
    procs, endpoints = [], []
    try:
        for i in range(2):
            port = free_port()
            log = open(d / f"rpc{i}.log", "wb")  # noqa: SIM115 - closed with the process below
            p = subprocess.Popen(rpc_server_command(binary, "127.0.0.1", port, threads=1),
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            procs.append((p, log))
            _wait_port(port, p)
            endpoints.append(f"127.0.0.1:{port}")
        yield endpoints
    finally:
        for p, log in procs:
            stop_group(p)
            log.close()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("rpc_models")
    common = dict(n_embd=256, n_head=8, head_dim=32, n_ff=512, vocab=2000, ctx_train=8192)
    specs = {
        "gqa": dense_model("llama", name="tiny gqa", n_layer=6, n_head_kv=2, qtype=Q.F32, qk_norm=False, **common),
        "tied": dense_model("gemma2", name="tiny tied", n_layer=5, n_head_kv=2, tied_output=True, post_norms=True,
                            qtype=Q.F32, qk_norm=False, extra_kv={"gemma2.attention.sliding_window": 256}, **common),
        "q8": dense_model("llama", name="tiny q8", n_layer=7, n_head_kv=4, qtype=Q.Q8_0, qk_norm=False, **common),
        "gemma3": gemma3_swa(name="tiny gemma3", n_layer=8, n_embd=256, n_head=8, n_head_kv=2, head_dim=32,
                             n_ff=512, vocab=2000, ctx_train=8192, sliding_window=256),
        "hybrid": qwen35_hybrid(name="tiny qwen35 hybrid", n_layer=4, n_embd=128, n_head=4, n_head_kv=2,
                                head_dim=32, n_ff=256, vocab=2000, ctx_train=8192, ssm_state=64,
                                ssm_groups=4, ssm_v_heads=8),
    }
    return {k: write_model(d / f"{k}.gguf", m, data="random") for k, m in specs.items()}


# (model, ctx per slot, slots, tensor split or None = the planner's balanced split, budgets in MiB)
CASES = [
    ("gqa", 1024, 2, [3, 4], (64, 64)),
    ("gqa", 2048, 1, None, (40, 24)),
    ("tied", 1024, 1, [1, 1], (64, 64)),  # tied output: token_embd copied to the output device
    ("q8", 1024, 2, [5, 3], (64, 64)),
    ("gemma3", 2048, 2, [1, 2], (64, 64)),  # SWA + full caches, per device
    ("hybrid", 1024, 2, [1, 1], (64, 64)),  # KV on attention layers, RS on recurrent ones
]


def _by_endpoint(buffers: dict[str, int], endpoint: str) -> int:
    return sum(b for name, b in buffers.items() if name.endswith(f"[{endpoint}]"))


def _mib(b: int) -> float:
    return round(b / MiB, 2)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}x{c[2]}-ts{c[3]}" for c in CASES])
def test_per_device_weights_and_kv_match_llama_server(rpc_hosts, models, llama_server_bin, tmp_path, case):
    model, ctx, slots, ts, budgets = case
    f = read_facts(models[model])
    devices = [rpc_device(ep, mib * MiB, i) for i, (ep, mib) in enumerate(zip(rpc_hosts, budgets, strict=True))]
    req = PlanRequest(ctx_per_slot=ctx, parallel=slots, flash_attn="on")
    e = fit_split(f, req, devices, tensor_split=ts).best if ts is None else estimate_split(f, req, devices, tensor_split=ts)
    assert e is not None and e.fits
    assert "--rpc" in e.server_args and "--tensor-split" in e.server_args
    mem, text = load_memory(llama_server_bin, models[model], e.server_args, tmp_path / "load.log")
    for ep, d in zip(rpc_hosts, e.devices, strict=True):
        assert d.name.endswith(f"[{ep}]")
        assert _mib(d.weights_bytes) == _mib(_by_endpoint(mem.model_bytes, ep)), text[-3000:]
        # one KV line per cache (full, SWA) per device, each rounded to 0.01 MiB on its own
        n_caches = max(1, len(mem.kv_caches))
        assert abs(d.kv_bytes - _by_endpoint(mem.kv_bytes, ep)) <= 0.005 * MiB * n_caches + 1
        assert _mib(d.recurrent_bytes) == _mib(_by_endpoint(mem.recurrent_bytes, ep))
    # compute is modelled (pipeline copies of the inputs per device): never far under, not wildly over
    for ep, d in zip(rpc_hosts, e.devices, strict=True):
        real = _by_endpoint(mem.compute_bytes, ep)
        assert 0.9 * real <= d.compute_bytes <= 1.7 * real, (ep, d.compute_bytes / MiB, real / MiB)
    # the split matches: the layers llama.cpp put on each device hold exactly those bytes, and
    # nothing but the input layer stayed on the host
    assert _mib(mem.model_bytes.get("CPU_Mapped", 0)) == _mib(f.embd_bytes) or f.embd_bytes < 0.01 * MiB
    assert e.weights_bytes + f.embd_bytes >= f.weights_bytes
    assert mem.n_ctx_slot == e.ctx_per_slot
    # top-level numbers are the per-device sums
    assert e.kv_bytes == sum(d.kv_bytes for d in e.devices)
    assert e.total_bytes == sum(d.total_bytes for d in e.devices)


def test_planned_split_is_what_runs_even_when_hosts_report_more(rpc_hosts, models, llama_server_bin, tmp_path):
    """Each rpc-server reports its whole host's free RAM (this build has no -m): llama.cpp's own
    split would be ~1:1. The planner's budgets (8 MiB and 64 MiB here) give a different split,
    and because argv carries --tensor-split, the load follows the plan, not the report."""
    f = read_facts(models["gqa"])
    devices = [rpc_device(rpc_hosts[0], 9 * MiB, 0), rpc_device(rpc_hosts[1], 64 * MiB, 1)]
    e = fit_split(f, PlanRequest(ctx_per_slot=1024), devices).best
    assert e is not None and e.fits
    assert e.devices[0].n_layers < e.devices[1].n_layers
    mem, text = load_memory(llama_server_bin, models["gqa"], e.server_args, tmp_path / "load.log")
    for ep, d in zip(rpc_hosts, e.devices, strict=True):
        assert _mib(d.weights_bytes) == _mib(_by_endpoint(mem.model_bytes, ep)), text[-3000:]
        assert _mib(d.total_bytes) <= _mib(d.budget_bytes)


def test_rpc_server_command_matches_this_build(llama_server_bin):
    from tierdeck.core.planner.rpc import help_flags  # noqa: PLC0415

    binary = find_rpc_server(llama_server_bin)
    flags = help_flags(binary)
    assert {"-H", "-p", "-t", "-c"} <= flags
    argv = rpc_server_command(binary, "127.0.0.1", 50099, threads=2, cache=True, flags=flags)
    assert argv == [str(binary), "-H", "127.0.0.1", "-p", "50099", "-t", "2", "-c"]
    assert Path(argv[0]).name in ("ggml-rpc-server", "rpc-server")


def test_cli_plan_runs_as_planned(rpc_hosts, models, llama_server_bin, tmp_path, capsys):
    """`tierdeck plan --rpc A=..,B=.. --json`: its argv, given to llama-server, puts on each host the
    weights and KV the plan printed, each within its budget, per-device numbers summing to the totals."""
    import json  # noqa: PLC0415

    from tierdeck.cli import main  # noqa: PLC0415

    rpc = f"{rpc_hosts[0]}=40MiB,{rpc_hosts[1]}=24MiB"
    assert main(["plan", str(models["q8"]), "--rpc", rpc, "--ctx", "2048", "-np", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total_bytes"] == sum(x["total_bytes"] for x in d["devices"])
    assert all(x["total_bytes"] <= x["budget_bytes"] for x in d["devices"])
    mem, text = load_memory(llama_server_bin, models["q8"], d["server_args"], tmp_path / "cli.log")
    for ep, x in zip(rpc_hosts, d["devices"], strict=True):
        assert _mib(x["weights_bytes"]) == _mib(_by_endpoint(mem.model_bytes, ep)), text[-3000:]
        assert _mib(x["kv_bytes"]) == _mib(_by_endpoint(mem.kv_bytes, ep))
