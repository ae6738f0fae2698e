"""A profile tier over several devices: profile keys -> planned split -> llama-server argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierdeck.core.gguf import read_facts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner.multi import device_args
from tierdeck.core.planner.multi_fit import plan_tier_split, tier_devices
from tierdeck.core.profiles import ProfileError
from tierdeck.core.profiles.loader import profile_from_text
from tierdeck.core.servers.cmdline import Features, build_command
from tierdeck.core.servers.tierplan import plan_request
from tierdeck.core.units import GiB

FEATURES = Features(frozenset({"--jinja", "-lv", "--fit", "--rpc", "--split-mode", "--tensor-split"}))
GPUS = [Device(0, "nvidia", "NVIDIA GeForce RTX 3090 Ti", 24 * GiB, 23 * GiB, 22 * GiB, GiB, "NVML"),
        Device(1, "nvidia", "NVIDIA GeForce RTX 3060", 12 * GiB, 11 * GiB, 10 * GiB, GiB, "NVML"),
        Device(2, "cpu", "RAM", 64 * GiB, 40 * GiB, 39 * GiB, GiB, "psutil")]


def profile(model: Path, tier: str = "", top: str = ""):
    return profile_from_text(f"name: p\n{top}tiers:\n  sonnet: {{model: {model}{tier}}}\n", Path("/tmp/p.yaml"))


def test_planned_split_reaches_the_argv(tiny_model):
    prof = profile(tiny_model, ", ctx_per_slot: 2048", "rpc:\n  - {host: 127.0.0.1:50052, memory: 1GiB}\n")
    t = prof.tiers["sonnet"]
    devs = tier_devices(t, GPUS)
    assert [d.kind for d in devs] == ["rpc", "nvidia", "nvidia"]
    fit = plan_tier_split(t, read_facts(tiny_model), plan_request(t, 2048), GPUS)
    assert fit is not None and fit.best is not None
    cmd = build_command(t, Path("/bin/llama-server"), 8080, FEATURES, ctx_per_slot=2048,
                        device_args=device_args(fit.best))
    a = cmd.argv
    assert a[a.index("--rpc") + 1] == "127.0.0.1:50052"
    assert a[a.index("--split-mode") + 1] == "layer"
    assert a[a.index("--tensor-split") + 1] == ",".join(f"{x:g}" for x in fit.best.tensor_split)
    assert a.index("--tensor-split") < a.index("--fit")  # the plan is explicit: --fit off follows


def test_user_split_settings_pass_through(tiny_model):
    prof = profile(tiny_model, ", split_mode: row, tensor_split: [3, 1], main_gpu: 1, devices: [CUDA0, CUDA1]")
    t = prof.tiers["sonnet"]
    a = build_command(t, Path("/bin/llama-server"), 8080, FEATURES).argv
    assert a[a.index("--device") + 1] == "CUDA0,CUDA1"
    assert a[a.index("--split-mode") + 1] == "row"
    assert a[a.index("--tensor-split") + 1] == "3,1"
    assert a[a.index("--main-gpu") + 1] == "1"
    assert "--rpc" not in a


def test_one_device_is_not_a_split(tiny_model):
    t = profile(tiny_model).tiers["sonnet"]
    assert plan_tier_split(t, read_facts(tiny_model), plan_request(t, 1024), GPUS[:1]) is None
    t2 = profile(tiny_model, ", split_mode: none").tiers["sonnet"]
    assert tier_devices(t2, GPUS) == []
    t3 = profile(tiny_model, ", devices: [CUDA1]").tiers["sonnet"]
    assert [d.index for d in tier_devices(t3, GPUS)] == [1]


def test_opting_out_of_rpc(tiny_model):
    prof = profile(tiny_model, ", use_rpc: false", "rpc:\n  - {host: 127.0.0.1:50052, memory: 1GiB}\n")
    t = prof.tiers["sonnet"]
    assert t.rpc == [] and "--rpc" not in build_command(t, Path("/bin/llama-server"), 8080, FEATURES).argv


@pytest.mark.parametrize(("top", "line", "msg"), [
    ("rpc: 127.0.0.1:50052\n", 2, "expected a list of rpc-server hosts"),
    ("rpc:\n  - {host: nope}\n", 3, "expected host:port"),
    ("rpc:\n  - {host: 127.0.0.1:50052, memory: lots}\n", 3, "not a size"),
    ("rpc:\n  - {host: 127.0.0.1:50052, colour: red}\n", 3, "rpc[0].colour: unknown key"),
    ("rpc:\n  - 127.0.0.1:50052\n  - 127.0.0.1:50052\n", 4, "listed twice"),
])
def test_bad_rpc_entries_name_file_line_and_key(tiny_model, top, line, msg):
    with pytest.raises(ProfileError) as e:
        profile(tiny_model, "", top)
    assert f"/tmp/p.yaml:{line}:" in str(e.value) and msg in str(e.value)


def test_devices_go_by_llama_servers_own_names(tiny_model):
    """A card llama-server calls CUDA1 while it is listed first (its engine_id, from
    hardware.select) is the one `devices: [CUDA1]` means, and its buffers are CUDA1's."""
    from dataclasses import replace  # noqa: PLC0415

    from tierdeck.core.planner.multi import device_label  # noqa: PLC0415

    swapped = [replace(GPUS[0], engine_id="CUDA1"), replace(GPUS[1], engine_id="CUDA0"), GPUS[2]]
    t = profile(tiny_model, ", devices: [CUDA1]").tiers["sonnet"]
    assert [d.name for d in tier_devices(t, swapped)] == ["NVIDIA GeForce RTX 3090 Ti"]
    assert [device_label(d, i) for i, d in enumerate(swapped[:2])] == ["CUDA1", "CUDA0"]
    assert device_label(GPUS[1], 1) == "CUDA1"  # no engine name: the position, as before
