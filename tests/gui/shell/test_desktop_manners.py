from __future__ import annotations

import logging

from PySide6.QtCore import qWarning

from tierdeck.core.settings import Settings
from tierdeck.gui.shell.applog import LOG_NAME, close_logging, setup_logging
from tierdeck.gui.shell.settings_dialog import SettingsDialog
from tierdeck.gui.shell.single_instance import SingleInstance, server_name
from tierdeck.gui.shell.window_state import window_settings


def test_second_instance_raises_the_first(qtbot):
    first = SingleInstance()
    assert first.acquire()
    try:
        with qtbot.waitSignal(first.activated, timeout=5000):
            second = SingleInstance()
            assert not second.acquire()
    finally:
        first.close()
    # after the first one quits, a new launch is the first again
    third = SingleInstance()
    assert third.acquire()
    third.close()


def test_instance_name_depends_on_the_config_folder(monkeypatch, tmp_path):
    a = server_name()
    monkeypatch.setenv("TIERDECK_HOME", str(tmp_path / "other"))
    assert server_name() != a


def test_app_log_gets_python_and_qt_messages(tierdeck_home):
    path = setup_logging()
    try:
        logging.getLogger("tierdeck.gui").info("hello from the app")
        qWarning("a Qt warning")
        for h in logging.getLogger("tierdeck").handlers:
            h.flush()
        text = path.read_text()
    finally:
        close_logging()
    assert path.name == LOG_NAME and path.parent == tierdeck_home / "logs"
    assert "hello from the app" in text
    assert "a Qt warning" in text


def test_settings_dialog_round_trip(qtbot, tierdeck_home):
    s = Settings(llama_server="/opt/llama/llama-server", reserve_mib=2048, on_quit="keep")
    dlg = SettingsDialog(s)
    qtbot.addWidget(dlg)
    assert "llama-server" in dlg.binary_status.text() or "/opt/llama" in dlg.binary_status.text()
    dlg.models_dir.setText("/models")
    dlg.reserve.setValue(512)
    dlg.on_quit.setCurrentIndex(dlg.on_quit.findData("stop"))
    dlg.close_to_tray.setChecked(False)
    dlg.theme.setCurrentText("dark")
    out = dlg.to_settings()
    out.save()
    back = Settings.load()
    assert back.llama_server == "/opt/llama/llama-server"
    assert back.models_dir == "/models"
    assert back.reserve_mib == 512
    assert back.on_quit == "stop"
    assert back.close_to_tray is False
    assert back.extra["theme"] == "dark"
    assert s.reserve_mib == 2048  # the dialog edits a copy


def test_window_remembers_geometry_and_profile(window, qtbot, gui_settings):
    window.resize(1100, 700)
    window.tabs.setCurrentIndex(2)
    window.save_window()
    ws = window_settings()
    assert ws.value("geometry") is not None
    assert int(ws.value("tab")) == 2
    assert Settings.load().last_profile == "demo"


def test_shortcuts_are_installed(window):
    keys = {s.key().toString() for s in window.shortcuts}
    assert {"Ctrl+1", "Ctrl+9", "Ctrl+."} <= keys


def test_applied_settings_reach_the_supervisor_and_the_theme(window, supervisor):
    from PySide6.QtWidgets import QApplication

    s = Settings(**{**window.settings.__dict__, "extra": {"theme": "dark"}})
    s.reserve_mib = 4096
    window.apply_settings(s)
    assert supervisor.settings.reserve_mib == 4096
    assert window.monitor.reserve_mib == 4096
    assert QApplication.instance().property("tierdeck_theme") == "dark"
    assert Settings.load().reserve_mib == 4096
    from tierdeck.gui.shell.theme import apply_theme

    apply_theme(QApplication.instance(), "light")
