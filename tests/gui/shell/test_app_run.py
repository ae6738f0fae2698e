"""tierdeck.gui.shell.app.run() end to end, in a child process: after QApplication.exec() returns,
Qt stops starting thread-pool threads in that process, which would break later tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tierdeck.core.settings import Settings
from tierdeck.gui.shell.applog import LOG_NAME

SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from tierdeck.gui.shell import app as gui_app
    from tierdeck.gui.shell.main_window import MainWindow

    qapp = QApplication(sys.argv[:1])
    seen = {}

    def poke():
        wins = [w for w in QApplication.topLevelWidgets()
                if isinstance(w, MainWindow) and w.isVisible()]
        if not wins or wins[0].profile is None or wins[0].devices.detection is None:
            QTimer.singleShot(50, poke)
            return
        seen["profile"] = wins[0].profile.name
        wins[0].request_quit()

    QTimer.singleShot(0, poke)
    QTimer.singleShot(60000, qapp.quit)  # a hung window must not hang the test
    rc = gui_app.run(app=qapp, profile="demo", notes=["a startup note"])
    print("RESULT", rc, seen.get("profile"))
""")


def test_run_opens_the_window_on_the_given_profile_and_quits(tierdeck_home):
    Settings(on_quit="stop", close_to_tray=False).save()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TIERDECK_HOME": str(tierdeck_home)}
    p = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                       timeout=120)
    assert "RESULT 0 demo" in p.stdout, p.stdout + p.stderr
    assert Settings.load().last_profile == "demo"
    log = (tierdeck_home / "logs" / LOG_NAME).read_text()
    assert "starting" in log and "a startup note" in log and "exits" in log
