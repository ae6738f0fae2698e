"""How long one plan-slider step takes on the UI thread (planner estimate + bar repaint),
for the demo model and a synthetic 30B-A3B MoE GGUF (sparse file, no disk used).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_bench.py

The UI draws at 60 Hz: a step well under 16 ms cannot drop a frame.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TIERDECK_HOME"] = tempfile.mkdtemp(prefix="tierdeck-guibench-")
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck.core.demo import ensure_demo_model  # noqa: PLC0415
    from tierdeck.core.gguf import read_facts  # noqa: PLC0415
    from tierdeck.core.gguf.synth import qwen3_30b_a3b, write_model  # noqa: PLC0415
    from tierdeck.core.hardware import detect_devices  # noqa: PLC0415
    from tierdeck.core.profiles.schema import Tier  # noqa: PLC0415
    from tierdeck.gui.bridges.tasks import TaskRunner  # noqa: PLC0415
    from tierdeck.gui.plan.plan_view import PlanView  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    big = write_model(Path(tempfile.mkdtemp()) / "qwen3-30b-a3b.gguf", qwen3_30b_a3b())
    det = detect_devices()
    for label, path in (("demo (tiny llama)", ensure_demo_model()), ("30B-A3B MoE (synthetic)", big)):
        runner = TaskRunner()
        view = PlanView(runner)
        view.resize(900, 600)
        view.show()
        tier = Tier(name="t", model=str(path), model_path=Path(path), ctx_per_slot=4096)
        view.facts[str(path)] = read_facts(path)
        view.profile = None
        view.tier = tier
        view.set_detection(det)
        view._load_tier_values()
        view._facts_ready()
        times = []
        for _round in range(5):
            for i in range(view.ctx_slider.maximum() + 1):
                t0 = time.perf_counter()
                view.ctx_slider.setValue(i)  # estimate + verdict + bar model
                view.bar.repaint()  # the paint itself, synchronously
                app.processEvents()
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"{label:26s} {len(times)} slider steps: median {statistics.median(times):.2f} ms, "
              f"p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms")
        runner.cancel_all()
        runner.wait()
        view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
