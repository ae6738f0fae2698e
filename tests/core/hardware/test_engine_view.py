"""`llama-server --list-devices`: parsed from outputs posted on real machines, cached per binary+env."""

import os
from pathlib import Path

import pytest

from tierdeck.core.hardware.engine_view import (
    EngineView,
    cache_key,
    parse_list_devices,
    read_engine_view,
)

MiB = 1024**2

# llama.cpp issue 17536 (b7166, RTX 5090): a backend log line lands inside the device block.
CUDA_5090_ISSUE_17536 = """\
ggml_cuda_init: GGML_CUDA_FORCE_MMQ:    no
ggml_cuda_init: GGML_CUDA_FORCE_CUBLAS: no
ggml_cuda_init: found 1 CUDA devices:
  Device 0: NVIDIA GeForce RTX 5090, compute capability 12.0, VMM: yes
Available devices:
ggml_backend_cuda_get_available_uma_memory: final available_memory_kb: 56701456
  CUDA0: NVIDIA GeForce RTX 5090 (32106 MiB, 55372 MiB free)
"""

# Metal, M4 Max, posted in ardanlabs/kronk issue 10 (llama-bench shares the same printer):
# recommendedMaxWorkingSetSize = 103079.22 MB = 98304 MiB, the listed total.
METAL_M4_MAX = """\
ggml_metal_device_init: GPU name:   Apple M4 Max
ggml_metal_device_init: has unified memory    = true
ggml_metal_device_init: recommendedMaxWorkingSetSize  = 103079.22 MB
Available devices:
  Metal: Apple M4 Max (98304 MiB, 98303 MiB free)
  BLAS: Accelerate (0 MiB, 0 MiB free)
"""

# llama.cpp issue 14966: Homebrew's x86_64 build on an Apple M4 (macOS 15.5) lists nothing.
ROSETTA_M4_ISSUE_14966 = "Available devices:\n"

# llama.cpp PR 11424 (comment): two CUDA GPUs and two RPC servers, numbers redacted there;
# the shape (RPC[host:port] ids) is what matters, so the figures here are placeholders.
CUDA_PLUS_RPC_PR_11424 = """\
ggml_cuda_init: found 2 CUDA devices:
Available devices:
  CUDA0: NVIDIA GeForce RTX 3090 (24135 MiB, 23000 MiB free)
  CUDA1: NVIDIA GeForce GTX 1660 (5936 MiB, 5800 MiB free)
  RPC[192.168.1.10:50052]: RPC[192.168.1.10:50052] (16000 MiB, 15000 MiB free)
"""


def test_cuda_listing_with_an_interleaved_log_line_issue_17536():
    devs, listed = parse_list_devices(CUDA_5090_ISSUE_17536)
    assert listed
    [d] = devs
    assert (d.id, d.backend, d.ordinal, d.description) == ("CUDA0", "CUDA", 0, "NVIDIA GeForce RTX 5090")
    assert d.total_bytes == 32106 * MiB and d.free_bytes == 55372 * MiB


def test_metal_listing_gives_the_working_set_and_skips_blas():
    devs, listed = parse_list_devices(METAL_M4_MAX)
    assert listed and [d.id for d in devs] == ["Metal", "BLAS"]
    view = EngineView("llama-server", devs, listed=True)
    [metal] = view.gpus("Metal")
    assert metal.description == "Apple M4 Max" and metal.total_bytes == 98304 * MiB
    assert [d.id for d in view.gpus()] == ["Metal"]  # BLAS computes from host RAM


def test_new_metal_ids_are_the_metal_backend():
    devs, _ = parse_list_devices("Available devices:\r\n  MTL0: Apple M3 (11291 MiB, 11290 MiB free)\r\n")
    assert devs[0].backend == "Metal" and devs[0].ordinal == 0


def test_an_empty_listing_is_listed_but_has_no_device():
    assert parse_list_devices(ROSETTA_M4_ISSUE_14966) == ([], True)
    assert parse_list_devices("Available devices:\n  (none)\n") == ([], True)


def test_rpc_devices_keep_their_endpoint_as_id():
    devs, _ = parse_list_devices(CUDA_PLUS_RPC_PR_11424)
    assert [d.backend for d in devs] == ["CUDA", "CUDA", "RPC"]
    assert devs[2].id == "RPC[192.168.1.10:50052]" and devs[2].ordinal is None


def test_text_without_a_listing_is_not_a_listing():
    assert parse_list_devices("error: invalid argument: --list-devices\n") == ([], False)


def _fake_binary(tmp_path: Path) -> Path:
    b = tmp_path / "llama-server"
    b.write_text("#!/bin/sh\n")
    b.chmod(0o755)
    return b


def test_asked_once_per_binary_and_env_then_read_from_disk(tmp_path):
    binary = _fake_binary(tmp_path)
    calls = []

    def runner(argv, env):
        calls.append((argv, env.get("CUDA_VISIBLE_DEVICES")))
        return 0, CUDA_5090_ISSUE_17536

    env = {"CUDA_VISIBLE_DEVICES": "0", "HOME": "/x"}
    first = read_engine_view(binary, env, runner=runner, cache_dir=tmp_path / "c")
    again = read_engine_view(binary, env | {"HOME": "/y"}, runner=runner, cache_dir=tmp_path / "c")
    assert calls == [([str(binary), "--list-devices"], "0")]
    assert not first.cached and again.cached and again.devices == first.devices
    # Another device selection, or a rebuilt binary, is asked again.
    read_engine_view(binary, env | {"CUDA_VISIBLE_DEVICES": "1"}, runner=runner, cache_dir=tmp_path / "c")
    st = binary.stat()
    os.utime(binary, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    read_engine_view(binary, env, runner=runner, cache_dir=tmp_path / "c")
    assert [c[1] for c in calls] == ["0", "1", "0"]


def test_key_covers_ggml_and_cuda_order_but_not_unrelated_env(tmp_path):
    b = _fake_binary(tmp_path)
    base = cache_key(b, {})
    assert cache_key(b, {"TERM": "xterm"}) == base
    for k in ("CUDA_DEVICE_ORDER", "GGML_CUDA_ENABLE_UNIFIED_MEMORY", "GGML_METAL_DEVICES",
              "LD_LIBRARY_PATH"):
        assert cache_key(b, {k: "1"}) != base, k


def test_old_binary_without_the_flag_is_an_error_not_a_cpu_only_listing(tmp_path):
    view = read_engine_view(_fake_binary(tmp_path), {}, cache_dir=tmp_path / "c",
                            runner=lambda a, e: (1, "error: invalid argument: --list-devices"))
    assert not view.listed and "old binary" in view.error and "invalid argument" in view.error


def test_real_cpu_build_on_this_machine(llama_server_bin, tmp_path):
    """b11434 built for CPU with -DGGML_RPC=ON: the RPC backend registers no device by itself."""
    view = read_engine_view(llama_server_bin, os.environ, cache_dir=tmp_path / "c")
    assert view.error is None and view.listed
    assert view.gpus() == []  # what a CPU-only build prints: "Available devices:\n  (none)"
    again = read_engine_view(llama_server_bin, os.environ, cache_dir=tmp_path / "c")
    assert again.cached and again.listed and again.devices == view.devices


@pytest.mark.parametrize("text", [CUDA_5090_ISSUE_17536, METAL_M4_MAX])
def test_round_trip_through_the_cache_format(text):
    devs, listed = parse_list_devices(text)
    view = EngineView("b", devs, listed=listed)
    assert EngineView.from_json(view.to_json()).devices == devs


def test_a_card_added_or_removed_is_asked_again(tmp_path):
    b = _fake_binary(tmp_path)
    assert cache_key(b, {}, "GPU-a") != cache_key(b, {}, "GPU-a GPU-b")


def test_a_hanging_binary_is_asked_once_per_session(tmp_path, monkeypatch):
    import tierdeck.core.hardware.engine_view as ev
    from tierdeck.core.hardware.detect import find_engine_view

    runs = tmp_path / "runs"
    hang = tmp_path / "llama-server"
    hang.write_text(f"#!/bin/sh\necho run >> {runs}\nexec sleep 30\n")
    hang.chmod(0o755)
    monkeypatch.setattr(ev, "TIMEOUT_S", 0.5)
    env = {"LLAMA_SERVER": str(hang)}
    memo: dict = {}
    first = find_engine_view(env, "", memo)
    again = find_engine_view(env, "", memo)
    assert "did not answer" in first.error and again is first
    assert runs.read_text().splitlines() == ["run"]
    # Not written to disk: a new session (e.g. after the user fixed the binary) asks again.
    find_engine_view(env, "", {})
    assert runs.read_text().splitlines() == ["run", "run"]
