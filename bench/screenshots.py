"""Render the main window in the light and dark themes to PNG files.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/screenshots.py [--out docs/screenshots]
        [--size 1280x800] [--run]    # --run: start the demo tier first (needs llama-server)

Runs in a throwaway TIERDECK_HOME, so it never touches your settings, profiles or servers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--run", action="store_true", help="start the demo haiku tier first")
    ap.add_argument("--tab", default="Plan", help="tab to show: Plan, Charts, Log, Clients, Benchmark")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TIERDECK_HOME"] = tempfile.mkdtemp(prefix="tierdeck-shots-")
    width, height = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415
    from tierdeck.core.settings import Settings  # noqa: PLC0415
    from tierdeck.gui.main_window import MainWindow  # noqa: PLC0415
    from tierdeck.gui.theme import apply_theme  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.02)

    settings = Settings(last_profile="demo", close_to_tray=False, on_quit="stop",
                        sample_interval_s=0.5)
    settings.save()
    sup = Supervisor(settings=settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for theme in ("light", "dark"):
        # A fresh window per theme, as the app starts: the theme is set before any widget.
        apply_theme(app, theme)
        win = MainWindow(settings, sup, tray=False)
        win.resize(width, height)
        win.show()
        pump(10, lambda w=win: w.profile is not None and w.devices.detection is not None)
        pump(3, lambda w=win: w.plan.estimate is not None)
        for i in range(win.tabs.count()):
            if win.tabs.tabText(i).lower() == args.tab.lower():
                win.tabs.setCurrentIndex(i)
        if args.run and not win.bridge.running():
            win.activate_tier("haiku")
            pump(60, lambda w=win: getattr(w.statuses_of_profile().get("haiku"), "state", "") == "ready")
        pump(2.5 if args.run else 0.5)
        path = out / f"main-window-{theme}.png"
        win.grab().save(str(path))
        written.append(path)
        win.shutdown()
        win.deleteLater()
        pump(0.2)
    if args.run:
        sup.down(None)
    sup.close()
    QTimer.singleShot(0, app.quit)
    for p in written:
        print(f"{p}  ({p.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
