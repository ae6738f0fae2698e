"""Quick benchmark of a running tier: N short chat requests, speeds from llama-server's timings.

Used by the GUI's Benchmark tab (in a worker thread) and usable from scripts. The figures
come from the `timings` object llama-server adds to each response, so they measure the
server, not HTTP overhead; wall time per request is measured here as well.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import httpx

PROMPTS = (
    "Write one sentence about a lighthouse.",
    "Name three colours of the sea at dusk.",
    "Describe a small red boat in a few words.",
    "Say something short about mountains.",
)


class BenchCancelled(Exception):
    pass


@dataclass
class BenchRun:
    prompt_tokens: int
    gen_tokens: int
    prompt_tps: float | None
    gen_tps: float | None
    wall_s: float


@dataclass
class BenchResult:
    base_url: str
    runs: list[BenchRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bandwidth_tps: float | None = None  # memory-bandwidth upper bound for generation

    @property
    def n(self) -> int:
        return len(self.runs)

    def _mean(self, attr: str) -> float | None:
        vals = [getattr(r, attr) for r in self.runs if getattr(r, attr) is not None]
        return statistics.fmean(vals) if vals else None

    @property
    def prompt_tps(self) -> float | None:
        return self._mean("prompt_tps")

    @property
    def gen_tps(self) -> float | None:
        return self._mean("gen_tps")

    @property
    def wall_mean_s(self) -> float | None:
        return self._mean("wall_s")

    @property
    def wall_stdev_s(self) -> float | None:
        walls = [r.wall_s for r in self.runs]
        return statistics.stdev(walls) if len(walls) > 1 else (0.0 if walls else None)

    def summary(self) -> str:
        def f(v: float | None, unit: str, digits: int = 1) -> str:
            return "n/a" if v is None else f"{v:.{digits}f} {unit}"

        parts = [
            f"{self.n} requests",
            f"prompt {f(self.prompt_tps, 'tok/s')}",
            f"generation {f(self.gen_tps, 'tok/s')}",
            f"wall {f(self.wall_mean_s, 's', 3)} ± {f(self.wall_stdev_s, 's', 3)}",
            f"bandwidth bound {f(self.bandwidth_tps, 'tok/s')}",
        ]
        if self.errors:
            parts.append(f"{len(self.errors)} failed: {self.errors[0]}")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(prompt_tps=self.prompt_tps, gen_tps=self.gen_tps, wall_mean_s=self.wall_mean_s,
                 wall_stdev_s=self.wall_stdev_s)
        return d


def bandwidth_bound_tps(weights_bytes: int | None, bandwidth_bytes_per_s: float | None) -> float | None:
    """Each generated token reads every weight once: tokens/s <= bandwidth / weight bytes."""
    if not weights_bytes or not bandwidth_bytes_per_s:
        return None
    return bandwidth_bytes_per_s / weights_bytes


def quick_bench(
    base_url: str,
    *,
    n: int = 5,
    max_tokens: int = 32,
    api_key: str | None = None,
    model: str | None = None,
    bandwidth_tps: float | None = None,
    timeout_s: float = 120.0,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: httpx.Client | None = None,
) -> BenchResult:
    """Run n short requests one after another; cancel is checked between requests."""
    result = BenchResult(base_url.rstrip("/"), bandwidth_tps=bandwidth_tps)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    client = client or httpx.Client(timeout=timeout_s, headers=headers)
    try:
        for i in range(n):
            if cancel is not None and cancel.is_set():
                raise BenchCancelled("benchmark cancelled")
            body = {
                "messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} (#{i})"}],
                "max_tokens": max_tokens,
                "temperature": 0.0,
                "cache_prompt": False,  # measure prompt processing on every request
                "stream": False,
            }
            if model:
                body["model"] = model
            t0 = time.perf_counter()
            try:
                r = client.post(f"{result.base_url}/v1/chat/completions", json=body, headers=headers)
                wall = time.perf_counter() - t0
                r.raise_for_status()
                timings = r.json().get("timings") or {}
            except (httpx.HTTPError, ValueError) as e:
                result.errors.append(f"{type(e).__name__}: {e}".splitlines()[0])
                if progress:
                    progress(i + 1, n)
                continue
            result.runs.append(BenchRun(
                prompt_tokens=int(timings.get("prompt_n") or 0),
                gen_tokens=int(timings.get("predicted_n") or 0),
                prompt_tps=_num(timings.get("prompt_per_second")),
                gen_tps=_num(timings.get("predicted_per_second")),
                wall_s=wall,
            ))
            if progress:
                progress(i + 1, n)
    finally:
        if own:
            client.close()
    return result


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if f == f and f > 0 else None
