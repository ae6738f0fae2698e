"""GUI fixtures: a main window on the offscreen platform, torn down with every server stopped."""

from __future__ import annotations

import pytest

from tierdeck.core.settings import Settings


@pytest.fixture
def gui_settings(tierdeck_home) -> Settings:
    s = Settings(on_quit="stop", close_to_tray=False, sample_interval_s=0.25, last_profile="demo")
    s.save()
    return s


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
