"""Planner benchmark on big sparse GGUFs (real tensor tables, data region a hole, no disk).

    .venv/bin/python bench/plan_bench.py [--runs N] [--keep DIR]

(a) in-process medians: read the facts, one plan evaluation, a full largest-context search;
(b) whole process: `tierdeck plan --json` vs one `llama-fit-params --fit-print on` run;
(c) a largest-context search done with repeated llama-fit-params runs vs ours;
(d) our KV (+recurrent) bytes vs llama-fit-params' `context` column (MiB, rounded down),
    and weights / compute vs its `model` / `compute` columns;
(e) one tier over two devices (24 GiB + 12 GiB): one per-device estimate, the full search
    (largest context and the balanced -ts), `tierdeck plan --budget 24GiB,12GiB --json`, and,
    side by side, llama-fit-params over two real rpc-servers on loopback (its per-device dry run).
The llama-fit-params here is a CPU build: its figures are the `Host` line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from tierdeck.core.gguf import read_facts  # noqa: E402
from tierdeck.core.gguf.synth import qwen3_14b, qwen3_30b_a3b, write_model  # noqa: E402
from tierdeck.core.hardware.device import Device  # noqa: E402
from tierdeck.core.planner import PlanRequest, estimate, fit_context  # noqa: E402
from tierdeck.core.planner import memory as m  # noqa: E402
from tierdeck.core.planner.multi import estimate_split  # noqa: E402
from tierdeck.core.planner.multi_fit import fit_split  # noqa: E402
from tierdeck.core.servers.binary import find_llama_server  # noqa: E402
from tierdeck.core.units import GiB, MiB  # noqa: E402

BREAKDOWN = re.compile(r"\|\s+- (\S+)\s+\|\s+(\d+) =\s+(\d+) \+\s+(\d+) \+\s+(\d+)")
PARALLEL = 2
CTX_PER_SLOT = 16384
BUDGET = 24 * GiB


def med(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def fit_params(fp: Path, model: Path, ctx_total: int) -> tuple[dict[str, list[int]], float]:
    args = [str(fp), "-m", str(model), "-c", str(ctx_total), "-np", str(PARALLEL), "-fa", "on",
            "-ub", "512", "-ctk", "f16", "-ctv", "f16", "--fit-print", "on", "-t", "1", "-lv", "4"]
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"llama-fit-params failed ({p.returncode}): {p.stderr[-2000:]}")
    rows = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and all(x.isdigit() for x in parts[1:]):
            rows[parts[0]] = [int(x) for x in parts[1:]]
    # the breakdown table (stderr at -lv 4) also lists CPU_REPACK, which --fit-print omits
    for hit in BREAKDOWN.finditer(p.stderr):
        if hit.group(1) != "Host":
            rows[hit.group(1)] = [int(hit.group(i)) for i in (3, 4, 5)]
    return rows, dt


def fp_total(rows: dict[str, list[int]]) -> int:
    return sum(sum(v) for v in rows.values()) * MiB


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", default=None, help="write the sparse models here (default: a temp dir)")
    a = ap.parse_args()
    base = Path(a.keep or tempfile.mkdtemp(prefix="plan_bench_"))
    fp = find_llama_server().companion("llama-fit-params")
    cpu = Device(0, "cpu", "bench", BUDGET, BUDGET, BUDGET, 0, "bench")
    req = PlanRequest(ctx_per_slot=CTX_PER_SLOT, parallel=PARALLEL, flash_attn="on")
    print(f"llama-fit-params: {fp}")
    print(f"flags: -c {CTX_PER_SLOT * PARALLEL} -np {PARALLEL} -fa on -ub 512 -ctk f16 -ctv f16; "
          f"search budget {BUDGET // GiB} GiB (CPU device)\n")
    for name, build in (("Qwen3-14B dense", qwen3_14b), ("Qwen3-30B-A3B MoE", qwen3_30b_a3b)):
        path = base / (name.split()[0] + ".gguf")
        if not path.exists():
            write_model(path, build())
        apparent = os.path.getsize(path)
        on_disk = os.stat(path).st_blocks * 512
        print(f"== {name}: {path} ({apparent / 1e9:.1f} GB apparent, {on_disk / 1e6:.1f} MB on disk)")
        # (a)
        t_read = med(lambda p=path: read_facts(p), a.runs)
        f = read_facts(path)
        t_est = med(lambda f=f: estimate(f, req, cpu), max(a.runs, 200))
        t_fit = med(lambda f=f: fit_context(f, req.replace(ctx_per_slot=None), cpu), max(a.runs, 20))
        print(f"(a) read facts {t_read * 1e3:.1f} ms; one estimate {t_est * 1e6:.0f} us; "
              f"full search {t_fit * 1e3:.2f} ms (medians)")
        # (b)
        cli = [sys.executable, "-m", "tierdeck", "plan", str(path), "--budget", f"{BUDGET}",
               "--kind", "cpu", "--ctx", str(CTX_PER_SLOT), "-np", str(PARALLEL), "-fa", "on", "--json"]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"))

        def run_cli(cli=cli, env=env):
            subprocess.run(cli, capture_output=True, env=env, check=False, timeout=120)

        t_cli = med(run_cli, a.runs)
        ts_fp = []
        rows = {}
        for _ in range(a.runs):
            rows, dt = fit_params(fp, path, CTX_PER_SLOT * PARALLEL)
            ts_fp.append(dt)
        t_fp = statistics.median(ts_fp)
        print(f"(b) tierdeck plan --json {t_cli * 1e3:.0f} ms vs llama-fit-params {t_fp * 1e3:.0f} ms: "
              f"ratio fit-params/tierdeck = {t_fp / t_cli:.2f}")
        # (c) binary search with llama-fit-params, same budget and step
        t = time.perf_counter()
        lo, hi, n_runs = 1, f.ctx_train // 256, 0  # in units of 256 per slot
        best_fp = None
        while lo <= hi:
            mid = (lo + hi) // 2
            r, _ = fit_params(fp, path, mid * 256 * PARALLEL)
            n_runs += 1
            if fp_total(r) <= BUDGET:
                best_fp, lo = mid * 256, mid + 1
            else:
                hi = mid - 1
        t_search_fp = time.perf_counter() - t
        ours = fit_context(f, req.replace(ctx_per_slot=None), cpu).best
        print(f"(c) search with {n_runs} llama-fit-params runs {t_search_fp:.2f} s -> {best_fp} ctx/slot; "
              f"ours {t_fit * 1e3:.2f} ms -> {ours.ctx_per_slot if ours else None} ctx/slot; "
              f"ratio {t_search_fp / t_fit:.0f}x")
        # (d)
        e = estimate(f, req, cpu)
        fp_model = sum(v[0] for v in rows.values())
        fp_ctx = sum(v[1] for v in rows.values())
        fp_comp = sum(v[2] for v in rows.values())
        ctx_mib = (e.kv_bytes + e.recurrent_bytes) / MiB
        cells = m.cells(f, e.ctx_total, PARALLEL, False, 512)
        fp_like = m.compute_bytes(f, cells, 512, 2048, True, "f16", logits_all=True) / MiB
        print(f"(d) KV: ours {ctx_mib:.2f} MiB vs fit-params context {fp_ctx} MiB "
              f"(diff {ctx_mib - fp_ctx:+.2f}, fit-params rounds down); weights ours "
              f"{e.weights_bytes / MiB:.1f} vs {fp_model} MiB (Host+CPU_REPACK); compute: "
              f"fit-params {fp_comp} MiB (logits for all 512 ubatch tokens) vs ours modelled the "
              f"same way {fp_like:.1f} MiB ({(fp_like - fp_comp) / max(fp_comp, 1) * 100:+.1f}%); "
              f"ours for llama-server (1 logit row per slot) {e.compute_bytes / MiB:.1f} MiB")
        print(json.dumps({"model": name, "read_ms": t_read * 1e3, "estimate_us": t_est * 1e6,
                          "search_ms": t_fit * 1e3, "cli_ms": t_cli * 1e3, "fit_params_ms": t_fp * 1e3,
                          "fp_search_s": t_search_fp, "fp_runs": n_runs, "kv_mib": ctx_mib,
                          "fp_context_mib": fp_ctx, "fp_rows": rows}))
        two_devices(f, path, req, fp, a.runs)
        print()
    return 0


def two_devices(f, path: Path, req: PlanRequest, fp: Path, runs: int) -> None:
    devs = [Device(i, "nvidia", f"CUDA{i}", b, b, b, 0, "bench") for i, b in enumerate((24 * GiB, 12 * GiB))]
    t_one = med(lambda: estimate_split(f, req, devs), max(runs, 100))
    t_search = med(lambda: fit_split(f, req.replace(ctx_per_slot=None), devs), max(runs, 10))
    best = fit_split(f, req.replace(ctx_per_slot=None), devs).best
    cli = [sys.executable, "-m", "tierdeck", "plan", str(path), "--budget", "24GiB,12GiB",
           "-np", str(PARALLEL), "-fa", "on", "--json"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"))
    t_cli = med(lambda: subprocess.run(cli, capture_output=True, env=env, check=False, timeout=120), runs)
    out = json.loads(subprocess.run(cli, capture_output=True, env=env, check=False, timeout=120).stdout)
    sums = all(out[k] == sum(d[k] for d in out["devices"]) for k in ("weights_bytes", "kv_bytes", "total_bytes"))
    within = all(d["total_bytes"] <= d["budget_bytes"] for d in out["devices"])
    per = ", ".join(f"{d['name']} {d['total_bytes'] / GiB:.2f}/{d['budget_bytes'] / GiB:.0f} GiB "
                    f"({d['n_layers']} layers)" for d in out["devices"])
    print(f"(e) two devices 24+12 GiB: one estimate {t_one * 1e6:.0f} us; full search {t_search * 1e3:.2f} ms "
          f"-> {best.ctx_per_slot} ctx/slot, -ts {','.join(f'{x:g}' for x in best.tensor_split)}; "
          f"tierdeck plan --budget 24GiB,12GiB --json {t_cli * 1e3:.0f} ms; {per}; sums to totals: {sums}; "
          f"each within budget: {within}")
    peer = fit_params_rpc(fp, path, out["ctx_total"], out["tensor_split"])
    if peer is not None:
        dt, rows = peer
        ours = {d["name"]: (d["weights_bytes"] // MiB, (d["kv_bytes"] + d["recurrent_bytes"]) // MiB)
                for d in out["devices"]}
        print(f"    llama-fit-params --rpc (2 rpc-servers, same -ts): {dt * 1e3:.0f} ms, per device "
              f"model/context MiB {rows}; ours (weights/KV, MiB) {ours}")


def fit_params_rpc(fp: Path, path: Path, ctx_total: int, ts: list[float]):
    """llama-fit-params over two rpc-servers on loopback, -c and -ts as our plan; None if unavailable."""
    import signal  # noqa: PLC0415

    from tierdeck.core.planner.rpc import find_rpc_server, rpc_server_command  # noqa: PLC0415
    from tierdeck.core.servers.server import free_port  # noqa: PLC0415

    rb = find_rpc_server(fp)
    if rb is None:
        print("    (no rpc-server beside llama-fit-params: peer skipped)")
        return None
    procs, eps = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(subprocess.Popen(rpc_server_command(rb, "127.0.0.1", port, threads=1),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            eps.append(f"127.0.0.1:{port}")
        time.sleep(1.0)
        args = [str(fp), "-m", str(path), "-c", str(ctx_total), "-np", str(PARALLEL), "-fa", "on",
                "-ub", "512", "-ctk", "f16", "-ctv", "f16", "--fit-print", "on", "-t", "1",
                "--rpc", ",".join(eps), "-ts", ",".join(f"{x:g}" for x in ts), "-ngl", "all"]
        t = time.perf_counter()
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        dt = time.perf_counter() - t
        rows = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and all(x.isdigit() for x in parts[1:]):
                rows[parts[0]] = [int(x) for x in parts[1:3]]
        if p.returncode != 0 or not rows:
            print(f"    llama-fit-params --rpc failed ({p.returncode}): {p.stderr[-300:]!r}")
            return None
        return dt, rows
    finally:
        for pr in procs:
            os.killpg(pr.pid, signal.SIGTERM)
            pr.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
