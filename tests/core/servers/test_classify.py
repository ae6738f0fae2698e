from pathlib import Path

import pytest

from tierdeck.core.servers.classify import classify_failure, describe_exit, timeout_failure

LOGS = Path(__file__).parent / "logs"


def lines(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


@pytest.mark.parametrize("name", ["cuda_oom_weights.log", "cuda_oom_kv.log", "metal_oom.log"])
def test_recorded_oom_logs(name):
    f = classify_failure(lines(name), 1)
    assert f.kind == "oom"
    assert f.summary == "out of memory"
    assert "context" in f.hint or "KV" in f.hint
    assert f.message.startswith("out of memory: ")


def test_cuda_oom_points_at_the_allocation_line():
    f = classify_failure(lines("cuda_oom_kv.log"), 1)
    assert "cudaMalloc failed: out of memory" in f.line
    assert not f.line[0].isdigit()  # the timestamp prefix is stripped


@pytest.mark.parametrize(
    ("log", "kind"),
    [
        (["error: invalid argument: --no-such-flag"], "bad_flag"),
        (["error while handling argument \"-ctk\": Unsupported cache type: q3_0"], "bad_flag"),
        (["gguf_init_from_file: failed to open GGUF file '/x.gguf' (No such file or directory)",
          "llama_model_load: error loading model: llama_model_loader: failed to load model from /x.gguf",
          "srv    load_model: failed to load model, '/x.gguf'"], "model_not_found"),
        (["gguf_init_from_file_impl: invalid magic characters: 'oops', expected 'GGUF'",
          "llama_model_load: error loading model: llama_model_loader: failed to load model"],
         "model_corrupt"),
        (["srv    load_model: loading model", "main: exiting due to model loading error",
          "E couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080"], "port_in_use"),
    ],
)
def test_kinds(log, kind):
    assert classify_failure(log, 1).kind == kind


def test_lines_before_a_successful_load_do_not_explain_a_later_crash():
    log = lines("cuda_oom_kv.log")[:-6] + [
        "sched_reserve: compute buffer allocation failed, retrying without pipeline parallelism",
        "srv    load_model: initializing slots, n_slots = 1",
        "main: model loaded",
        "srv  update_slots: all slots are idle",
    ]
    f = classify_failure(log, -9)
    assert f.kind == "exited"
    assert f.message == "exited (killed by SIGKILL)"


def test_plain_exit_and_load_error():
    assert classify_failure([], 3).message == "exited (exit status 3)"
    f = classify_failure(["llama_model_load: error loading model: something new"], 1)
    assert f.kind == "exited" and "something new" in f.line
    assert describe_exit(-15) == "killed by SIGTERM"


def test_timeout():
    f = timeout_failure(5, ["a", "still loading..."])
    assert f.kind == "timeout" and "5 s" in f.summary and f.line == "still loading..."


def test_signal_is_named_next_to_the_last_log_line():
    f = classify_failure(["srv  load_model: loading", "E ggml: error: something odd"], -9)
    assert f.message == "exited (killed by SIGKILL): E ggml: error: something odd"
    assert classify_failure(lines("cuda_oom_kv.log"), 1).message.startswith("out of memory: ")
