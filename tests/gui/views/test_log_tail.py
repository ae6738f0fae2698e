from __future__ import annotations

from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.views.file_tail import read_from
from tierdeck.gui.views.log_view import LogView


def test_read_from_keeps_partial_lines(tmp_path):
    p = tmp_path / "s.log"
    p.write_text("one\ntwo\nthr")
    off, text, restarted = read_from(str(p), None)
    assert (text, restarted) == ("one\ntwo\n", True)
    with p.open("a") as f:
        f.write("ee\nfour\n")
    off, text, restarted = read_from(str(p), off)
    assert (text, restarted) == ("three\nfour\n", False)
    p.write_text("new\n")  # truncated (rotated): start again
    _off, text, restarted = read_from(str(p), off)
    assert restarted and text == "new\n"


def test_log_view_follows_searches_and_copies(qtbot, tmp_path):
    runner = TaskRunner()
    view = LogView(runner)
    qtbot.addWidget(view)
    log = tmp_path / "haiku.log"
    log.write_text("main: loading model\n")
    view.show_server("haiku", str(log), ["llama-server", "-m", "/m/a model.gguf", "--port", "8080"])
    assert view.command.text() == "llama-server -m '/m/a model.gguf' --port 8080"
    qtbot.waitUntil(lambda: "loading model" in view.plain_text(), timeout=5000)
    with log.open("a") as f:
        f.write("srv  llama_server: listening on http://127.0.0.1:8080\n")
    qtbot.waitUntil(lambda: "listening on" in view.plain_text(), timeout=5000)
    view.search.setText("listening")
    assert view.find_next()
    assert view.copy_text() == "listening"  # the found text is selected
    view.text.moveCursor(view.text.textCursor().MoveOperation.End)
    assert "loading model" in view.copy_text()  # nothing selected: the whole log
    assert view.copy_command_line().startswith("llama-server -m")
    view.stop()
    runner.wait()
