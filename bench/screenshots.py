"""Render the main window in the light and dark themes to PNG files.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/screenshots.py [--out docs/screenshots]
        [--size 1280x800] [--tabs Plan,Charts] [--run]
    # --run: start the demo tier first and send it a quick benchmark (needs llama-server),
    # so the charts have something to draw

One PNG per theme and tab: main-window-<theme>.png for the Plan tab, <tab>-<theme>.png else.

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
    ap.add_argument("--tabs", "--tab", default="Plan,Charts",
                    help="comma-separated tabs to capture: Plan, Charts, Log, Clients, Benchmark")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TIERDECK_HOME"] = tempfile.mkdtemp(prefix="tierdeck-shots-")
    width, height = (int(v) for v in args.size.lower().split("x"))
    tabs = [t.strip() for t in args.tabs.split(",") if t.strip()]

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415
    from tierdeck.core.settings import Settings  # noqa: PLC0415
    from tierdeck.gui.shell.main_window import MainWindow  # noqa: PLC0415
    from tierdeck.gui.shell.theme import apply_theme  # noqa: PLC0415

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
        if args.run:
            if not win.bridge.running():
                win.activate_tier("haiku")
                pump(60, lambda w=win: is_ready(w, "haiku"))
            # Some traffic, so tokens/s and busy slots are not flat lines at zero.
            win.tiers.select("haiku")
            pump(5, lambda w=win: w.bench.run_button.isEnabled())
            win.bench.n.setValue(20)
            win.bench.max_tokens.setValue(64)
            if win.bench.run() is not None:
                pump(60, lambda w=win: w.bench.task is None)
        if win.charts.charts is not None:
            win.charts.charts.set_window_seconds(60)  # the run is seconds old: 10 min is a flat line
        for tab in tabs:
            show_tab(win, tab)
            pump(2.5 if args.run else 0.5)
            name = "main-window" if tab.lower() == "plan" else tab.lower()
            path = out / f"{name}-{theme}.png"
            win.grab().save(str(path), "PNG", 0)  # 0: smallest file (zlib level 9)
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


def is_ready(win, tier: str) -> bool:
    st = win.statuses_of_profile().get(tier)
    return st is not None and st.state == "ready"


def show_tab(win, name: str) -> None:
    for i in range(win.tabs.count()):
        if win.tabs.tabText(i).lower() == name.lower():
            win.tabs.setCurrentIndex(i)
            return
    raise SystemExit(f"no tab named {name!r}")


if __name__ == "__main__":
    raise SystemExit(main())
