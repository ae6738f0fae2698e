"""A tier over several devices, started by the supervisor: planned as a split, and the split's
-sm/-ts reach llama-server's argv (launcher.tier_command).

Two GPUs through injected NVML readings (no process: there is no GPU here), and two real
llama.cpp rpc-servers on 127.0.0.1 started through Supervisor.up, where each host's weights
in the log must be what the plan said.
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil

from tests.core.hardware.fake_nvml import FakeGpu, FakeNvml, rtx_3090_ti
from tests.core.planner.test_rpc_vs_llama_server import (  # noqa: F401 - fixtures
    _by_endpoint,
    _mib,
    models,
    rpc_hosts,
)
from tests.core.servers.conftest import supervisors  # noqa: F401 - fixture
from tierdeck.core.gguf.synth import qwen3_14b, write_model
from tierdeck.core.hardware import detect_devices
from tierdeck.core.planner import split as sp
from tierdeck.core.profiles import load_profile_file, profile_from_text
from tierdeck.core.servers.cmdline import Features
from tierdeck.core.servers.launcher import tier_command
from tierdeck.core.servers.registry import Registry
from tierdeck.core.servers.supervisor import free_port
from tierdeck.core.units import GiB, MiB

FEATURES = Features(frozenset({"--jinja", "-lv", "--fit", "--rpc", "--split-mode", "--tensor-split"}))


def two_cards():
    """A 3090 Ti and a 3060 as NVML reports them (the code path a real driver takes)."""
    small = FakeGpu(name="NVIDIA GeForce RTX 3060", total=12288 * MiB, used=300 * MiB, uuid="GPU-3060",
                    bus_bits=192, mem_clock_mhz=7501)
    return detect_devices(1024, nvml=FakeNvml([rtx_3090_ti(), small]), platform_name="linux",
                          machine="x86_64", memory=(64 * GiB, 40 * GiB))


def _arg(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_two_nvml_gpus_plan_a_split_and_the_argv_carries_it(tmp_path):
    model = write_model(tmp_path / "q14.gguf", qwen3_14b(write_vocab=False))
    prof = profile_from_text(f"tiers:\n  big:\n    model: {model}\n    parallel: 2\n", tmp_path / "p.yaml")
    plan, cmd = tier_command(prof.tiers["big"], Path("/bin/llama-server"), 8080, FEATURES, 1024,
                             detection=two_cards())
    assert plan.fits and plan.device == "2 devices", plan.notes
    d = plan.to_dict()
    assert [x["name"] for x in d["devices"]] == ["CUDA0", "CUDA1"]
    assert all(x["total_bytes"] <= x["budget_bytes"] for x in d["devices"])
    assert d["planned_bytes"] == sum(x["total_bytes"] for x in d["devices"])
    big, small = d["devices"]
    assert big["n_layers"] > small["n_layers"] > 0  # the 3060 gets fewer layers
    # argv: the planned context and the planned split, explicit (--fit off)
    a = cmd.argv
    assert _arg(a, "-c") == str(plan.ctx_per_slot * 2)
    assert _arg(a, "--split-mode") == "layer"
    assert _arg(a, "--tensor-split") == sp.fmt_split(d["estimate"]["tensor_split"])
    assert _arg(a, "--fit") == "off" and "--rpc" not in a
    assert re.fullmatch(r"planned [\d.]+ GiB over 2 devices \(CUDA0 [\d.]+ of [\d.]+ GiB, "
                        r"CUDA1 [\d.]+ of [\d.]+ GiB\)", plan.summary()), plan.summary()
    # a tier kept to one card is planned on that card alone, no split in its argv
    one = profile_from_text(f"tiers:\n  big:\n    model: {model}\n    devices: [CUDA1]\n", tmp_path / "q.yaml")
    plan1, cmd1 = tier_command(one.tiers["big"], Path("/bin/llama-server"), 8080, FEATURES, 1024,
                               detection=two_cards())
    assert plan1.devices == [] and plan1.device == "nvidia:1 NVIDIA GeForce RTX 3060"
    assert "--tensor-split" not in cmd1.argv and _arg(cmd1.argv, "--device") == "CUDA1"


def test_supervisor_starts_a_tier_over_two_rpc_hosts_as_planned(  # noqa: F811
        rpc_hosts, models, llama_server_bin, tmp_path, supervisors):  # noqa: F811
    text = (f"name: split\nrpc:\n  - {{host: {rpc_hosts[0]}, memory: 40MiB}}\n"
            f"  - {{host: {rpc_hosts[1]}, memory: 24MiB}}\n"
            f"tiers:\n  gqa:\n    model: {models['gqa']}\n    threads: 1\n    flash_attn: 'on'\n"
            f"    port: {free_port()}\n")
    (tmp_path / "split.yaml").write_text(text)
    prof = load_profile_file(tmp_path / "split.yaml")
    sup = supervisors(binary=llama_server_bin)
    [st] = sup.up(prof, ["gqa"])
    assert st.state == "ready", (st.reason, st.log_tail)
    plan = Registry().read()["split/gqa"].plan  # as every TierDeck sees it
    devices = plan["devices"]
    assert [d["name"] for d in devices] == [f"RPC{i}[{ep}]" for i, ep in enumerate(rpc_hosts)]
    a = st.command
    assert _arg(a, "--rpc") == ",".join(rpc_hosts)
    assert _arg(a, "--tensor-split") == sp.fmt_split(plan["estimate"]["tensor_split"])
    assert _arg(a, "-c") == str(plan["ctx_per_slot"])
    assert "over 2 devices (RPC0[" in st.plan_note and plan["fits"]
    # what llama-server put on each host is what the plan said
    mem = st.loaded
    assert mem is not None and mem.n_ctx_slot == plan["ctx_per_slot"]
    for ep, d in zip(rpc_hosts, devices, strict=True):
        assert _mib(d["weights_bytes"]) == _mib(_by_endpoint(mem.model_bytes, ep)), st.log_tail
        assert abs(d["kv_bytes"] - _by_endpoint(mem.kv_bytes, ep)) <= 0.005 * MiB + 1
        assert 0 < d["total_bytes"] <= d["budget_bytes"]
    # down: the server is gone and nothing is registered
    sup.down("gqa")
    assert not psutil.pid_exists(st.pid) or psutil.Process(st.pid).status() == psutil.STATUS_ZOMBIE
    assert Registry().read() == {}
