"""`tierdeck` without a command: headless hint, display checks, and the profile opened first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tierdeck.core.demo import SMOLLM2_TOKEN, builtin_model_path, demo_model_path
from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.settings import Settings
from tierdeck.gui.shell import launch
from tierdeck.gui.shell.launch import display_problem, startup_profile

LINUX = "linux"


def test_no_display_variables_is_a_problem():
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in display_problem({}, LINUX)


@pytest.mark.parametrize("qpa", ["offscreen", "minimal", "vnc:size=800x600", "offscreen;xcb"])
def test_platforms_without_window_system_need_no_display(qpa):
    assert display_problem({"QT_QPA_PLATFORM": qpa}, LINUX) is None


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_always_have_a_window_server(platform):
    assert display_problem({}, platform) is None


def test_unreachable_x_display_is_a_problem(tmp_path):
    # Display 9999: no X server anywhere listens on that socket or on TCP 15999.
    problem = display_problem({"DISPLAY": ":9999"}, LINUX)
    assert problem and "':9999' does not answer" in problem
    problem = display_problem({"DISPLAY": "127.0.0.1:9999"}, LINUX)
    assert problem and "does not answer" in problem


def test_reachable_x_display_passes(monkeypatch):
    # A listening TCP socket stands in for an X server at display N = port - 6000.
    srv = socket.socket()
    try:
        srv.bind(("127.0.0.1", 0))
    except OSError:
        pytest.skip("no loopback")
    port = srv.getsockname()[1]
    if port < 6000:
        srv.close()
        pytest.skip("ephemeral port below 6000")
    srv.listen(1)
    monkeypatch.setattr(launch.ctypes.util, "find_library", lambda name: f"lib{name}.so")
    try:
        assert display_problem({"DISPLAY": f"127.0.0.1:{port - 6000}"}, LINUX) is None
    finally:
        srv.close()


def test_missing_xcb_libraries_are_named(monkeypatch):
    monkeypatch.setattr(launch, "_x11_reachable", lambda display: True)
    monkeypatch.setattr(launch.ctypes.util, "find_library",
                        lambda name: None if name in ("xcb-cursor", "xcb-keysyms") else "x.so")
    problem = display_problem({"DISPLAY": ":0"}, LINUX)
    assert problem and "apt-get install libxcb-cursor0 libxcb-keysyms1" in problem


def test_requested_platform_decides_which_display_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "_x11_reachable", lambda display: True)
    monkeypatch.setattr(launch, "missing_xcb_packages", lambda: [])
    (tmp_path / "wayland-0").touch()
    both = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert display_problem({**both, "QT_QPA_PLATFORM": "wayland"}, LINUX) is None
    assert display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, LINUX)
    assert display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, LINUX) is None
    assert display_problem({"WAYLAND_DISPLAY": "w", "QT_QPA_PLATFORM": "xcb"}, LINUX)
    assert display_problem({"QT_QPA_PLATFORM": "directfb"}, LINUX) is None  # Qt decides


def test_wayland_socket_in_runtime_dir(tmp_path):
    env = {"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert "Wayland display 'wayland-7' does not answer" in display_problem(env, LINUX)
    (tmp_path / "wayland-7").touch()
    assert display_problem(env, LINUX) is None


def test_headless_tierdeck_says_so_and_points_to_the_cli(tierdeck_home):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([sys.executable, "-m", "tierdeck"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "no display here" in out.stdout
    for command in ("tierdeck detect", "tierdeck plan", "tierdeck up demo", "tierdeck top"):
        assert command in out.stdout
    assert "Traceback" not in out.stderr
    # Qt was never loaded: the hint must work where Qt's libraries would fail.
    assert not any(app_dirs().data.glob("**/*.gguf"))


def test_first_run_opens_the_demo_on_its_real_model():
    assert not demo_model_path().exists()
    s = startup_profile()
    assert (s.profile, s.first_run) == ("demo", True)
    assert s.demo_model == builtin_model_path(SMOLLM2_TOKEN) and s.demo_model.stat().st_size > 0
    assert s.notes == []


def _user_profile(name: str, text: str | None = None) -> Path:
    folder = ensure_dir(app_dirs().profiles)
    path = folder / f"{name}.yaml"
    path.write_text(text or (
        f"name: {name}\nmachine: any\ntiers:\n  haiku:\n    model: builtin:demo\n    port: auto\n"
    ))
    return path


def test_a_user_profile_wins_over_the_demo():
    _user_profile("mine")
    s = startup_profile()
    assert (s.profile, s.first_run) == ("mine", False)
    assert not demo_model_path().exists()


def test_last_profile_setting_is_reopened():
    _user_profile("mine")
    Settings(last_profile="demo").save()
    assert startup_profile().profile == "demo"
    Settings(last_profile="gone").save()
    assert startup_profile().profile == "mine"


def test_broken_user_profiles_fall_back_to_the_demo_with_a_note():
    _user_profile("broken", "name: broken\ntiers: [oops\n")
    s = startup_profile()
    assert s.profile == "demo" and s.first_run
    assert any("errors" in n for n in s.notes)


def test_first_run_opens_the_window_offscreen_and_quits(tierdeck_home):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TIERDECK_QUIT_AFTER_MS="2000")
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, "-m", "tierdeck"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert builtin_model_path(SMOLLM2_TOKEN).is_file()


def test_headless_hint_names_the_venv_when_tierdeck_is_not_on_path():
    if sys.prefix == sys.base_prefix:
        pytest.skip("the suite runs outside a virtual environment")
    bindir = str(Path(sys.prefix) / "bin")
    off = launch.headless_message("no display", env={"PATH": "/usr/bin"})
    on = launch.headless_message("no display", env={"PATH": bindir + ":/usr/bin"})
    assert f"{bindir}/tierdeck" in off and "tierdeck detect" in off
    assert bindir not in on and "tierdeck detect" in on
