"""What a profile is once loaded: plain dataclasses, no YAML in sight.

A profile names a machine/model setup and its tiers. A local tier is one llama-server
process; a remote tier stays in the cloud and only yields client settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tierdeck.core.servers.urls import is_loopback

CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
FLASH_ATTN = ("on", "off", "auto")
SLOTS = ("haiku", "sonnet", "opus")
GROUP_MODES = ("swap", "co-resident", "shared")
ENGINE_SEP = "+"  # engine of a shared group: member names joined ("haiku+sonnet")
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
    chat_template_file: str | None = None  # resolved path for --chat-template-file
    max_tokens: int | None = None  # per-request cap the gateway applies
    sampling: dict[str, float] = field(default_factory=dict)  # gateway defaults per request
    members: list[str] = field(default_factory=list)  # an engine: the tiers it serves
    # remote tiers
    base_url: str | None = None
    api_key_env: str | None = None
    where: Where | None = None
    model_where: Where | None = None

    @property
    def is_remote(self) -> bool:
        return self.kind == "remote"

    @property
    def is_engine(self) -> bool:
        """A synthetic tier: one llama-server serving the tiers of a shared group."""
        return bool(self.members)

    @property
    def ctx_total(self) -> int | None:
        """What `-c` gets: llama-server splits -c across the -np slots; a unified pool is
        shared by all of them (every slot may fill it)."""
        if self.ctx_per_slot is None:
            return None
        return self.ctx_per_slot if self.kv_unified else self.ctx_per_slot * self.parallel


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
        return is_loopback(self.host)


@dataclass
class Group:
    # "swap": at most one member runs; "co-resident": members run side by side;
    # "shared": members (one GGUF) are served by ONE llama-server, the group's engine
    mode: str
    tiers: list[str]
    name: str = ""
    default: str | None = None  # the member `up PROFILE` starts when no tier is named
    ctx_pool: int | None = None  # shared: the engine's unified KV pool (default: largest ctx)


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
    engines: dict[str, Tier] = field(default_factory=dict)  # shared groups' engines by name
    model_map: dict[str, str] = field(default_factory=dict)  # gateway: model name -> tier

    def tier(self, name: str) -> Tier:
        """A tier by name, or a shared group's engine by its name ("haiku+sonnet")."""
        try:
            return self.tiers[name]
        except KeyError:
            if name in self.engines:
                return self.engines[name]
            from tierdeck.core.profiles.errors import ProfileError  # noqa: PLC0415

            known = ", ".join(self.tiers) or "none"
            raise ProfileError(f"{self.path}: no tier named {name!r} (tiers: {known})") from None

    @property
    def local_tiers(self) -> list[Tier]:
        return [t for t in self.tiers.values() if not t.is_remote]

    def engine_of(self, tier_name: str) -> str:
        """The name of the llama-server a tier runs on: its shared engine, else itself."""
        for name, eng in self.engines.items():
            if tier_name in eng.members:
                return name
        return tier_name

    def swap_group_of(self, tier_name: str) -> Group | None:
        """The swap group of a tier or engine (a member of a shared group stands for it)."""
        eng = self.engine_of(tier_name)
        for g in self.groups:
            if g.mode == "swap" and any(self.engine_of(t) == eng for t in g.tiers):
                return g
        return None

    def swap_partners(self, tier_name: str) -> list[str]:
        """Engines that swap with this tier's engine (engine names, not member tiers)."""
        g = self.swap_group_of(tier_name)
        if g is None:
            return []
        eng = self.engine_of(tier_name)
        out: list[str] = []
        for t in g.tiers:
            e = self.engine_of(t)
            if e != eng and e not in out:
                out.append(e)
        return out

    def default_tiers(self) -> list[str]:
        """What `up PROFILE` starts, as engine names: every local engine, one per swap group."""
        chosen: list[str] = []
        for t in self.local_tiers:
            g = self.swap_group_of(t.name)
            if g is None:
                pick = self.engine_of(t.name)
            else:
                pick = self.engine_of(
                    g.default or next(n for n in g.tiers if not self.tiers[n].is_remote))
            if pick not in chosen:
                chosen.append(pick)
        return chosen
