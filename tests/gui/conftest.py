"""GUI fixtures: a main window on the offscreen platform, torn down with every server stopped.

The window opens the "demo" profile. By default that is the shipped demo with its tiers on
the tiny generated model (a user copy overrides the built-in file): GUI flows test plumbing
and stay fast. A test marked `real_model` gets the shipped demo's real model (SmolLM2),
decoding greedily so that its answers do not change from run to run.
"""

from __future__ import annotations

import pytest

from tierdeck.core.demo import DEMO_TOKEN, SMOLLM2_TOKEN
from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.resources import builtin_profiles_dir
from tierdeck.core.settings import Settings


@pytest.fixture
def gui_settings(tierdeck_home, request) -> Settings:
    text = (builtin_profiles_dir() / "demo.yaml").read_text()
    if request.node.get_closest_marker("real_model") is None:
        text = text.replace(SMOLLM2_TOKEN, DEMO_TOKEN)
    else:  # greedy decoding: the real model's answers are the same on every run
        text = text.replace("defaults:\n", 'defaults:\n  extra_args: ["--temp", "0"]\n', 1)
    (ensure_dir(app_dirs().profiles) / "demo.yaml").write_text(text)
    s = Settings(on_quit="stop", close_to_tray=False, sample_interval_s=0.25, last_profile="demo")
    s.save()
    return s


@pytest.fixture
def live(gui_settings, llama_server_bin) -> Settings:
    """The window's settings with the real llama-server, for flows that start tiers."""
    gui_settings.llama_server = str(llama_server_bin)
    gui_settings.save()
    return gui_settings


@pytest.fixture
def supervisor(gui_settings):
    from tierdeck.core.servers.supervisor import Supervisor

    sup = Supervisor(settings=gui_settings)
    yield sup
    try:
        sup.down(None)
    finally:
        sup.close()


@pytest.fixture
def window(qtbot, gui_settings, supervisor):
    from tierdeck.gui.shell.main_window import MainWindow

    w = MainWindow(gui_settings, supervisor, tray=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: w.profile is not None and w.profile.name == "demo", timeout=10000)
    yield w
    w.shutdown()
