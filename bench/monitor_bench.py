"""Monitoring cost: what watching servers all day costs the machine.

    .venv/bin/python bench/monitor_bench.py [--seconds 30] [--samples 10000] [--servers 3]
    .venv/bin/python bench/monitor_bench.py --charts-only     # (b) alone, no llama-server

(a) sampler CPU: 3 real llama-servers (tiny model, one streaming the whole time), sampled at
    1 Hz for --seconds; CPU seconds this process used per wall second (the bench's own
    request thread is measured apart and subtracted);
(b) chart redraw: ChartsWidget on full 1-hour buffers (3 tiers + 1 GPU), offscreen: the
    data update (redraw) and the paint, CPU time, median of --redraws; side by side with a
    baseline in the same run: the same curves in a plain pyqtgraph layout as the charts used
    to draw them (auto-range, y grid, clip-to-view with auto peak downsampling, a time axis
    under every chart);
(c) memory: RSS of this process while the sampler runs --samples rounds back to back against
    the same servers (the ring buffer fills at 3600 rows, then must stay flat).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

import httpx  # noqa: E402
import psutil  # noqa: E402

from tierdeck.core.metrics import Sample, Sampler, ServerSample, Target  # noqa: E402
from tierdeck.core.metrics.samples import DeviceSample  # noqa: E402
from tierdeck.core.metrics.store import MetricsStore  # noqa: E402
from tierdeck.core.servers.binary import find_llama_server  # noqa: E402
from tierdeck.core.tinymodel import write_tiny_model  # noqa: E402

MiB = 1024**2
GiB = 1024**3
TIERS = ["haiku", "sonnet", "opus"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: Path, model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
            "--metrics", "-t", "1", "-np", "2", "-c", "4096", "--no-webui"]
    proc = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"llama-server exited: {log.read_text()[-1500:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("llama-server did not become healthy")


def streamer(url: str, stop: threading.Event, cpu: list[float]) -> None:
    """Keeps one tier generating so the sampler reads busy slots and live rates."""
    t0 = time.thread_time()
    with httpx.Client(timeout=120) as c:
        while not stop.is_set():
            c.post(url + "/completion", json={"prompt": "hello", "n_predict": 400,
                                              "ignore_eos": True, "cache_prompt": False})
    cpu.append(time.thread_time() - t0)


def sampler_cpu(targets: list[Target], seconds: float) -> tuple[float, int, float]:
    stop = threading.Event()
    cpu: list[float] = []
    feeder = threading.Thread(target=streamer, args=(targets[0].url, stop, cpu))
    feeder.start()
    sampler = Sampler(lambda: targets, interval_s=1.0)
    sampler.tick()  # warm-up: NVML init, first connections
    p0, w0, r0 = time.process_time(), time.monotonic(), sampler.rounds
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    stop.set()
    feeder.join()
    used, wall = time.process_time() - p0, time.monotonic() - w0
    busy = sum(1 for s in [sampler.latest] if s) and sampler.latest.server(targets[0].name)
    gen = busy.gen_tps if busy else None
    return (used - cpu[0]) / wall, sampler.rounds - r0, gen or 0.0


def full_hour_store() -> MetricsStore:
    st = MetricsStore(3600)
    t0 = time.time() - 3600
    for i in range(3600):
        servers = [
            ServerSample(name, "http://x", 1000 + k, "up", gen_tps=40 + 30 * ((i + 13 * k) % 60 < 30),
                         prompt_tps=300.0 * ((i + k) % 120 < 3), slots_busy=(i // 7 + k) % 3,
                         slots_total=2, planned_bytes=(4 + 3 * k) * GiB, gpu_bytes=(3.8 + 3 * k) * GiB)
            for k, name in enumerate(TIERS)
        ]
        dev = DeviceSample(0, "nvidia", "GPU", 24 * GiB, int(16 * GiB + (i % 100) * MiB), 23 * GiB,
                           utilization_pct=float(i % 100))
        st.add_sample(Sample(t0 + i, servers, [dev]))
    return st


class Baseline:
    """The same curves as ChartsWidget in a plain pyqtgraph layout, configured as the charts
    were before they were made cheap: the peer figure the bench prints beside ours."""

    def __init__(self, st: MetricsStore):
        import pyqtgraph as pg  # noqa: PLC0415

        from tierdeck.gui.charts.series import CHARTS, curves_for  # noqa: PLC0415

        self.st = st
        self.graphics = pg.GraphicsLayoutWidget()
        self.plots = {}
        for row, (chart, (title, unit)) in enumerate(CHARTS.items()):
            plot = self.graphics.addPlot(row=row, col=0, title=title,
                                         axisItems={"bottom": pg.DateAxisItem()})
            plot.setLabel("left", unit)
            plot.showGrid(x=False, y=True, alpha=0.2)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            plot.enableAutoRange(axis="y", enable=True)
            self.plots[chart] = plot
        kinds = {str(d.index): d.kind for d in st.latest.devices}
        self.items = []
        for c in curves_for(list(st.window(1).series), kinds):
            if c.style == "line":
                item = pg.InfiniteLine(angle=0, movable=False, label=c.label)
            else:
                item = pg.PlotDataItem(name=c.label, pen=pg.mkPen((0, 114, 178)))
            self.plots[c.chart].addItem(item)
            self.items.append((c, item))

    def redraw(self) -> None:
        w = self.st.window(3600)
        for c, item in self.items:
            y = w.series[c.key] * c.scale
            if c.style == "line":
                item.setValue(float(y[-1]))
            else:
                item.setData(w.t, y, skipFiniteCheck=True)
        for plot in self.plots.values():
            plot.setXRange(float(w.t[-1]) - 3600, float(w.t[-1]), padding=0)


def _time_redraws(st: MetricsStore, redraw, viewport, n: int) -> tuple[float, float, float]:
    """(median update, median paint, worst update + paint) in CPU seconds."""
    data, paint = [], []
    for k in range(n):
        row = st.window(1).series  # one more row, as the sampler would add
        st.append(time.time() + k, {key: float(v[-1]) for key, v in row.items()})
        # CPU time, not wall time: the figure should not depend on what else the box runs.
        t0 = time.thread_time()
        redraw()
        t1 = time.thread_time()
        viewport.repaint()
        t2 = time.thread_time()
        data.append(t1 - t0)
        paint.append(t2 - t1)
    worst = max(d + p for d, p in zip(data, paint, strict=True))
    return statistics.median(data), statistics.median(paint), worst


def chart_redraw(n: int = 30) -> dict[str, tuple[float, float, float, int]]:
    """{"charts": (update s, paint s, worst s, items), "baseline": (...)}, full 1-hour buffers."""
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from tierdeck.gui.charts import ChartsWidget  # noqa: PLC0415

    app = QApplication.instance() or QApplication([])
    out = {}
    st = full_hour_store()
    w = ChartsWidget(st, window_s=3600)
    w.resize(1200, 900)
    w.show()
    app.processEvents()
    w.redraw()
    out["charts"] = (*_time_redraws(st, w.redraw, w.graphics.viewport(), n), len(w._items))
    w.close()
    st = full_hour_store()
    b = Baseline(st)
    b.graphics.resize(1200, 900 - 40)  # the charts' toolbar takes the rest
    b.graphics.show()
    app.processEvents()
    b.redraw()
    out["baseline"] = (*_time_redraws(st, b.redraw, b.graphics.viewport(), n), len(b.items))
    b.graphics.close()
    app.processEvents()
    return out


def print_charts(n: int) -> None:
    res = chart_redraw(n)
    print(f"(b) charts, full 1-hour buffers (3600 rows), offscreen 1200x900, CPU ms, median of {n}:")
    for name, label in (("charts", "ChartsWidget"), ("baseline", "baseline (pyqtgraph defaults)")):
        data, paint, worst, items = res[name]
        print(f"    {label:31s} paint {paint * 1000:.1f} ms   update {data * 1000:.1f} ms   "
              f"total {(paint + data) * 1000:.1f} ms   worst frame {worst * 1000:.1f} ms   "
              f"({items} curves/lines)")


def rss_growth(targets: list[Target], samples: int) -> list[tuple[int, int]]:
    proc = psutil.Process()
    sampler = Sampler(lambda: targets, interval_s=1.0)
    marks = {0, 100, 1000, 3600, 5000, samples}
    out = []
    try:
        for i in range(samples + 1):
            if i in marks:
                out.append((i, proc.memory_info().rss))
            if i < samples:
                sampler.tick()
    finally:
        sampler.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--redraws", type=int, default=30)
    ap.add_argument("--charts-only", action="store_true", help="only (b): no llama-server needed")
    args = ap.parse_args()
    if args.charts_only:
        print_charts(args.redraws)
        return 0

    binary = find_llama_server().path
    tmp = Path(tempfile.mkdtemp(prefix="tierdeck-monitor-bench-"))
    model = write_tiny_model(tmp / "tiny.gguf")
    procs = []
    try:
        targets = []
        for i in range(args.servers):
            proc, url = start(binary, model, tmp / f"s{i}.log")
            procs.append(proc)
            targets.append(Target(TIERS[i % 3] + ("" if i < 3 else str(i)), url, proc.pid))
        print(f"llama-server: {binary}\nservers: {args.servers} (tiny model, 1 thread, 2 slots)")

        per_s, rounds, gen = sampler_cpu(targets, args.seconds)
        print(f"(a) sampler at 1 Hz, {args.servers} servers, {rounds} rounds over {args.seconds:.0f} s "
              f"(one tier streaming, last reading {gen:.0f} t/s): "
              f"{per_s * 1000:.1f} ms CPU per second ({per_s * 100:.2f}% of one core)")

        print_charts(args.redraws)

        marks = rss_growth(targets, args.samples)
        base = dict(marks)
        print(f"(c) RSS over {args.samples} sampling rounds ({args.servers} servers, store 3600 rows):")
        for i, rss in marks:
            print(f"    after {i:>6} rounds: {rss / MiB:7.1f} MiB")
        full = base.get(3600)
        if full is not None and args.samples > 3600:
            print(f"    growth from 3600 (buffer full) to {args.samples}: "
                  f"{(base[args.samples] - full) / MiB:+.1f} MiB")
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
