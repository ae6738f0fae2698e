"""What a profile is once loaded: plain dataclasses, no YAML in sight.

A profile names a machine/model setup and its tiers. A local tier is one llama-server
process; a remote tier stays in the cloud and only yields client settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
FLASH_ATTN = ("on", "off", "auto")
SLOTS = ("haiku", "sonnet", "opus")
GROUP_MODES = ("swap", "co-resident")
RESTART = ("off", "on")
SPLIT_MODES = ("layer", "row", "none")  # llama-server --split-mode
DEMO_MODEL_TOKEN = "builtin:demo"  # resolved by tierdeck.core.demo.ensure_demo_model()


@dataclass
class Where:
    """Where a value came from, for messages that point at the right line."""

    file: Path
    line: int  # 1-based; 0 when unknown

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclass(frozen=True)
class Price:
    """USD per million tokens of the cloud model a tier stands in for (its `price:` key)."""

    input: float
    output: float
    cache_read: float | None = None  # None: a tenth of input, Anthropic's cache-read rate


@dataclass
class Tier:
    name: str
    kind: str = "local"  # "local" | "remote"
    model: str | None = None  # as written: a path, a key of `models:`, or builtin:demo
    model_path: Path | None = None  # resolved file (local tiers)
    alias: str = ""
    slot: str | None = None  # which Claude Code model slot it serves: haiku|sonnet|opus
    thinking: bool | None = None  # None: leave the chat template's default
    reasoning_budget: int | None = None
    parallel: int = 1
    ctx_per_slot: int | None = None  # None = auto (planner, else llama-server's --fit)
    kv_unified: bool = False
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"
    flash_attn: str = "auto"
    batch: int | None = None
    ubatch: int | None = None
    ngl: int | str | None = None  # int, "all", "auto"; None: llama-server's default
    n_cpu_moe: int | None = None
    threads: int | None = None
    port: int | None = None  # None = auto
    host: str = "127.0.0.1"
    api_key: str | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restart: str = "off"
    restart_max: int = 5
    restart_backoff_s: float = 1.0
    load_timeout_s: float = 600.0
    stop_timeout_s: float = 10.0
    metrics: bool = True
    # several devices (llama.cpp -sm/-ts/-mg/--device) and RPC hosts (--rpc)
    split_mode: str | None = None  # None: llama-server's default (layer)
    tensor_split: list[float] | None = None  # None: the planner's split (or llama.cpp's by free memory)
    main_gpu: int | None = None
    devices: list[str] | None = None  # --device CUDA0,CUDA1: None = all that llama.cpp finds
    use_rpc: bool = True  # use the profile's rpc: hosts
    rpc: list[str] = field(default_factory=list)  # host:port of rpc-server processes (from the profile)
    rpc_hosts: list[RpcHost] = field(default_factory=list)  # the same hosts with what each offers
    price: Price | None = None  # None: the default of its slot/family (core.gateway.prices)
    # remote tiers
    base_url: str | None = None
    api_key_env: str | None = None
    where: Where | None = None
    model_where: Where | None = None

    @property
    def is_remote(self) -> bool:
        return self.kind == "remote"

    @property
    def ctx_total(self) -> int | None:
        """What `-c` gets: llama-server splits -c across the -np slots."""
        return None if self.ctx_per_slot is None else self.ctx_per_slot * self.parallel


@dataclass
class RpcHost:
    """A llama.cpp rpc-server another machine (or this one) offers as a device.
    Its traffic is unauthenticated: only on loopback or a network the user trusts."""

    host: str  # address the rpc-server binds / llama-server connects to
    port: int
    memory_bytes: int | None = None  # what it offers (rpc-server -m); None: ask it / unknown
    threads: int | None = None
    cache: bool = False  # rpc-server -c: keep big tensors in a local file cache
    device: str | None = None  # rpc-server -d: which of its backends to serve
    where: Where | None = None

    @property
    def endpoint(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


@dataclass
class Group:
    mode: str  # "swap": at most one member runs; "co-resident": members run side by side
    tiers: list[str]
    name: str = ""
    default: str | None = None  # the member `up PROFILE` starts when no tier is named


@dataclass
class Profile:
    name: str
    path: Path
    source: str  # "builtin" | "user"
    description: str = ""
    machine: str = ""
    tiers: dict[str, Tier] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    models: dict[str, Path] = field(default_factory=dict)
    rpc: list[RpcHost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a model file not there (yet)

    def tier(self, name: str) -> Tier:
        try:
            return self.tiers[name]
        except KeyError:
            from tierdeck.core.profiles.errors import ProfileError  # noqa: PLC0415

            known = ", ".join(self.tiers) or "none"
            raise ProfileError(f"{self.path}: no tier named {name!r} (tiers: {known})") from None

    @property
    def local_tiers(self) -> list[Tier]:
        return [t for t in self.tiers.values() if not t.is_remote]

    def swap_group_of(self, tier_name: str) -> Group | None:
        for g in self.groups:
            if g.mode == "swap" and tier_name in g.tiers:
                return g
        return None

    def swap_partners(self, tier_name: str) -> list[str]:
        g = self.swap_group_of(tier_name)
        return [t for t in g.tiers if t != tier_name] if g else []

    def default_tiers(self) -> list[str]:
        """What `up PROFILE` starts: every local tier, but one per swap group."""
        chosen: list[str] = []
        for t in self.local_tiers:
            g = self.swap_group_of(t.name)
            if g is None:
                chosen.append(t.name)
                continue
            pick = g.default or next(n for n in g.tiers if not self.tiers[n].is_remote)
            if pick not in chosen:
                chosen.append(pick)
        return chosen
