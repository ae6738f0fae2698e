"""`tierdeck plan --budget A,B` / `--rpc` and `tierdeck rpc-server`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tierdeck.cli import main
from tierdeck.core.gguf.synth import qwen3_14b, write_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def q14(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("m") / "q14.gguf", qwen3_14b(write_vocab=False))


def _json(capsys, *argv) -> tuple[int, dict]:
    rc = main(list(argv))
    return rc, json.loads(capsys.readouterr().out)


def test_two_device_budget_json_sums_and_fits(q14, capsys):
    rc, d = _json(capsys, "plan", str(q14), "--budget", "24GiB,12GiB", "--parallel", "2", "--json")
    assert rc == 0 and d["fits"]
    assert [x["name"] for x in d["devices"]] == ["CUDA0", "CUDA1"]
    for x in d["devices"]:
        assert {"index", "name", "budget_bytes", "weights_bytes", "kv_bytes", "compute_bytes",
                "overhead_bytes", "total_bytes"} <= set(x)
        assert x["total_bytes"] <= x["budget_bytes"]
    for k in ("weights_bytes", "kv_bytes", "compute_bytes", "overhead_bytes", "total_bytes", "budget_bytes"):
        assert d[k] == sum(x[k] for x in d["devices"]), k
    assert d["budget_bytes"] == 36 * 1024**3
    assert len(d["tensor_split"]) == 2
    a = d["server_args"]
    assert a[a.index("--tensor-split") + 1] == ",".join(f"{x:g}" for x in d["tensor_split"])
    assert sum(x["n_layers"] for x in d["devices"]) == 41


def test_text_output_has_a_row_per_device(q14, capsys):
    assert main(["plan", str(q14), "--budget", "10GiB,6GiB"]) == 0
    out = capsys.readouterr().out
    assert "0 CUDA0" in out and "1 CUDA1" in out and "FITS" in out and "--tensor-split" in out


def test_rpc_hosts_plan_with_the_warning(q14, capsys):
    rc, d = _json(capsys, "plan", str(q14), "--rpc", "127.0.0.1:50052=8GiB,127.0.0.1:50053=8GiB", "--json")
    assert rc == 0
    assert [x["name"] for x in d["devices"]] == ["RPC0[127.0.0.1:50052]", "RPC1[127.0.0.1:50053]"]
    a = d["server_args"]
    assert a[a.index("--rpc") + 1] == "127.0.0.1:50052,127.0.0.1:50053"
    assert any("unauthenticated" in n for n in d["notes"])


def test_a_user_split_that_does_not_fit_says_which_device(q14, capsys):
    rc = main(["plan", str(q14), "--budget", "6GiB,3GiB", "--tensor-split", "1,3", "--ctx", "8192"])
    out = capsys.readouterr().out
    assert rc == 1 and "DOES NOT FIT" in out and "CUDA1" in out.split("does not fit")[-1]


@pytest.mark.parametrize(("argv", "msg"), [
    (["--budget", "24GiB,lots"], "--budget"),
    (["--budget", "24GiB,12GiB", "--tensor-split", "1,2,3"], "3 proportions for 2 devices"),
    (["--budget", "24GiB,12GiB", "--tensor-split", "1,-2"], "negative"),
    (["--rpc", "127.0.0.1:50052"], "HOST:PORT=SIZE"),
])
def test_bad_device_options_are_clear_errors(q14, capsys, argv, msg):
    assert main(["plan", str(q14), *argv]) == 2
    assert msg in capsys.readouterr().err


def test_rpc_server_command_for_a_profiles_hosts(tmp_path, capsys, llama_server_bin):
    prof = tmp_path / "two.yaml"
    prof.write_text("name: two\nrpc:\n  - {host: 127.0.0.1:50061, memory: 8GiB, threads: 3}\n"
                    "  - {host: 127.0.0.1:50062, memory: 4GiB, cache: true}\n"
                    f"tiers:\n  sonnet: {{model: {tmp_path / 'm.gguf'}}}\n")
    assert main(["rpc-server", str(prof)]) == 0
    out = capsys.readouterr()
    assert "unauthenticated" in out.err
    lines = [ln for ln in out.out.splitlines() if not ln.startswith("#")]
    assert lines[0].endswith("-H 127.0.0.1 -p 50061 -t 3") and lines[1].endswith("-H 127.0.0.1 -p 50062 -c")
    assert main(["rpc-server", str(prof), "--port", "50099"]) == 2
    assert "no rpc: host matches" in capsys.readouterr().err


def test_rpc_server_run_serves_and_stops_with_its_cli(tmp_path, llama_server_bin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    cli = subprocess.Popen([sys.executable, "-m", "tierdeck", "rpc-server", "--run", "--port", str(port), "-t", "1"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert cli.poll() is None, cli.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("rpc-server did not listen")
        children = psutil.Process(cli.pid).children()
        assert [c.name() for c in children] and "rpc-server" in children[0].name()
        cli.send_signal(signal.SIGTERM)
        assert cli.wait(15) == 0
        psutil.wait_procs(children, timeout=10)
        assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
        assert b"unauthenticated" in cli.stderr.read()
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait(5)


def test_plan_without_budget_spreads_over_every_detected_gpu_as_the_supervisor_does(
        q14, capsys, monkeypatch):
    """No --budget/--device on a two-GPU machine (injected NVML readings): `tierdeck plan`
    plans the split the supervisor would start (multi_fit.tier_devices), not one card."""
    import tierdeck.core.hardware as hw
    from tests.core.hardware.fake_nvml import FakeNvml, rtx_3090_ti

    real = hw.detect_devices

    def two_cards(reserve_mib, **kw):
        return real(reserve_mib, nvml=FakeNvml([rtx_3090_ti(), rtx_3090_ti()]),
                    platform_name="linux", machine="x86_64", memory=(64 * 1024**3, 40 * 1024**3))

    monkeypatch.setattr(hw, "detect_devices", two_cards)
    rc, d = _json(capsys, "plan", str(q14), "--parallel", "2", "--json", "--no-calibration")
    assert rc == 0 and d["fits"]
    assert [x["name"] for x in d["devices"]] == ["CUDA0", "CUDA1"]
    assert len(d["tensor_split"]) == 2


def test_plan_without_budget_reads_the_hardware_once(q14, capsys, monkeypatch):
    """The default path picks the device from the same detection it checked for several GPUs."""
    import tierdeck.core.hardware as hw
    from tests.core.hardware.fake_nvml import FakeNvml, rtx_3090_ti

    real = hw.detect_devices
    calls = []

    def one_card(reserve_mib, **kw):
        calls.append(reserve_mib)
        return real(reserve_mib, nvml=FakeNvml([rtx_3090_ti()]),
                    platform_name="linux", machine="x86_64", memory=(64 * 1024**3, 40 * 1024**3))

    monkeypatch.setattr(hw, "detect_devices", one_card)
    rc, d = _json(capsys, "plan", str(q14), "--parallel", "2", "--json", "--no-calibration")
    assert rc == 0 and "3090" in d["device"]["name"]
    assert len(calls) == 1
