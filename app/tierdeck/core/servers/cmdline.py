"""The llama-server argv for a tier, and what this binary's `--help` says it understands.

Builds differ (--reasoning is new, -fa used to take no value, --fit appeared in 2025), so
features come from `--help`, cached per binary path + mtime + size: a rebuilt binary is
asked again.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs
from tierdeck.core.planner.split import fmt_split
from tierdeck.core.profiles.schema import Tier

HELP_CACHE = "llama-server-help.json"
_mem_cache: dict[str, Features] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Features:
    flags: frozenset[str] = frozenset()
    flash_attn_takes_value: bool = True  # -fa on|off|auto (2025+) vs a bare -fa switch
    api_key_env: bool = False  # the server reads LLAMA_API_KEY: keeps the key out of `ps`

    def has(self, *names: str) -> bool:
        return any(n in self.flags for n in names)

    @property
    def reasoning(self) -> bool:
        return self.has("--reasoning", "-rea")

    def to_dict(self) -> dict:
        return {
            "flags": sorted(self.flags),
            "flash_attn_takes_value": self.flash_attn_takes_value,
            "api_key_env": self.api_key_env,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Features:
        return cls(frozenset(d.get("flags", [])), bool(d.get("flash_attn_takes_value", True)),
                   bool(d.get("api_key_env", False)))


FLAG_RE = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def parse_help(text: str) -> Features:
    """Flags are the `-x, --long` words that start help lines (descriptions mention others)."""
    flags: set[str] = set()
    fa_value = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("-"):
            continue
        parts = re.split(r"\s{2,}", stripped)
        head = " ".join(p for p in _leading(parts))
        for m in FLAG_RE.finditer(head):
            flags.add(m.group(1))
        if "--flash-attn" in head and re.search(r"on\|off|\bFA\b|\[on", head):
            fa_value = True
    return Features(frozenset(flags), fa_value, "LLAMA_API_KEY" in text)


def _leading(parts: list[str]) -> list[str]:
    """The flag columns of a help line: '-fa,' '--flash-attn [on|off|auto]', not the text."""
    out = []
    for p in parts:
        if not p.startswith("-"):
            break
        out.append(p)
    return out


def _cache_key(binary: Path) -> tuple[str, dict]:
    st = binary.stat()
    return str(binary.resolve()), {"mtime_ns": st.st_mtime_ns, "size": st.st_size}


def detect_features(binary: Path, timeout: float = 30.0) -> Features:
    """`llama-server --help`, parsed; cached in memory and in the cache folder."""
    binary = Path(binary)
    key, stamp = _cache_key(binary)
    mem_key = f"{key}:{stamp['mtime_ns']}:{stamp['size']}"
    with _lock:
        if mem_key in _mem_cache:
            return _mem_cache[mem_key]
    cache_file = app_dirs().cache / HELP_CACHE
    try:
        disk = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        disk = {}
    hit = disk.get(key) if isinstance(disk, dict) else None
    if hit and hit.get("stamp") == stamp:
        feats = Features.from_dict(hit.get("features", {}))
    else:
        try:
            out = subprocess.run(
                [str(binary), "--help"], capture_output=True, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL, check=False,
            )
            text = (out.stdout or "") + "\n" + (out.stderr or "")
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        feats = parse_help(text)
        if feats.flags:  # a binary that would not answer is asked again next time
            if not isinstance(disk, dict):
                disk = {}
            disk[key] = {"stamp": stamp, "features": feats.to_dict()}
            try:
                atomic_write_text(cache_file, json.dumps(disk, indent=1))
            except OSError:
                pass
    with _lock:
        _mem_cache[mem_key] = feats
    return feats


def _device_flags(tier: Tier, planned: list[str] | None) -> list[str]:
    """Several devices: what the user set, or what the planner chose for them."""
    a: list[str] = []
    if tier.devices:
        a += ["--device", ",".join(tier.devices)]
    if tier.rpc:
        a += ["--rpc", ",".join(tier.rpc)]  # unauthenticated: the profile loader warns off loopback
    if planned is not None:
        return a + list(planned)
    if tier.split_mode:
        a += ["--split-mode", tier.split_mode]
    if tier.tensor_split:
        a += ["--tensor-split", fmt_split(tier.tensor_split)]
    if tier.main_gpu is not None:
        a += ["--main-gpu", str(tier.main_gpu)]
    return a


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to the server's environment
    secrets: tuple[str, ...] = ()  # values masked in display()
    planned: bool = False  # numbers were set explicitly (and --fit is off)

    def display(self) -> str:
        """A copyable shell line with API keys masked."""
        masked = [("****" if a in self.secrets else a) for a in self.argv]
        prefix = " ".join(
            f"{k}={shlex.quote('****' if v in self.secrets else v)}" for k, v in self.env.items()
        )
        line = shlex.join(masked)
        return f"{prefix} {line}" if prefix else line


def build_command(
    tier: Tier,
    binary: Path,
    port: int,
    features: Features,
    ctx_per_slot: int | None = None,
    verbosity: int = 4,
    device_args: list[str] | None = None,
) -> Command:
    """argv for one local tier. ctx_per_slot: the planned context (overrides the profile's).
    device_args: a planned split (planner.multi.device_args): replaces the tier's own
    --split-mode / --tensor-split / --main-gpu."""
    if tier.model_path is None:
        raise ValueError(f"tier {tier.name} has no model path")
    f = features
    argv = [str(binary), "-m", str(tier.model_path), "--host", tier.host, "--port", str(port)]
    argv += ["--alias", tier.alias]
    env = dict(tier.env)
    secrets: tuple[str, ...] = ()

    ctx = ctx_per_slot if ctx_per_slot is not None else tier.ctx_per_slot
    # -np always explicit: without it llama-server picks 4 unified slots on its own.
    argv += ["-np", str(tier.parallel)]
    if tier.kv_unified:
        argv.append("-kvu")
    if ctx is not None:
        # -c is the total across slots: 32K per slot x 2 slots is -c 65536. With -kvu it is
        # the one pool every slot may fill (the planner's reading too): -c = ctx_per_slot.
        argv += ["-c", str(ctx if tier.kv_unified else ctx * tier.parallel)]
    if f.has("--jinja"):
        argv.append("--jinja")
    if tier.chat_template_file:
        argv += ["--chat-template-file", tier.chat_template_file]
    if tier.thinking is not None:
        if f.reasoning:
            argv += ["--reasoning", "on" if tier.thinking else "off"]
        elif f.has("--chat-template-kwargs"):
            argv += ["--chat-template-kwargs", json.dumps({"enable_thinking": tier.thinking})]
    if tier.reasoning_budget is not None and f.has("--reasoning-budget"):
        argv += ["--reasoning-budget", str(tier.reasoning_budget)]
    argv += ["-ctk", tier.cache_type_k, "-ctv", tier.cache_type_v]
    if f.flash_attn_takes_value:
        argv += ["-fa", tier.flash_attn]
    elif tier.flash_attn == "on":
        argv.append("-fa")
    if tier.ngl is not None:
        argv += ["-ngl", str(tier.ngl)]
    if tier.n_cpu_moe:
        argv += ["--n-cpu-moe", str(tier.n_cpu_moe)]
    argv += _device_flags(tier, device_args)
    if tier.batch:
        argv += ["-b", str(tier.batch)]
    if tier.ubatch:
        argv += ["-ub", str(tier.ubatch)]
    if tier.threads:
        argv += ["-t", str(tier.threads)]
    if tier.metrics:
        argv.append("--metrics")
    if tier.api_key:
        secrets = (tier.api_key,)
        if f.api_key_env:
            env["LLAMA_API_KEY"] = tier.api_key  # not in argv: other users can read `ps`
        else:
            argv += ["--api-key", tier.api_key]
    if f.has("-lv", "--verbosity", "--log-verbosity"):
        flag = "-lv" if f.has("-lv") else ("--verbosity" if f.has("--verbosity") else "--log-verbosity")
        argv += [flag, str(verbosity)]
    planned = ctx is not None
    if planned and f.has("--fit"):
        # What runs is what was planned: --fit would otherwise lower -ngl behind our back.
        argv += ["--fit", "off"]
    argv += tier.extra_args  # last: llama-server keeps the last value of a repeated flag
    return Command(argv=argv, env=env, secrets=secrets, planned=planned)
