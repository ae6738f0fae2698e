"""Read a profile YAML file into a Profile, with errors that point at file, line and key.

ruamel.yaml's round-trip loader keeps the line of every key, so each complaint can say
where it is. A missing model file is *not* an error here (a profile stays listable and
editable before its GGUF is downloaded); it becomes a warning, and starting that tier
fails with the same file:line message (see Profile.warnings and check_startable()).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from tierdeck.core.profiles.errors import Issue, ProfileError
from tierdeck.core.profiles.schema import (
    CACHE_TYPES,
    DEMO_MODEL_TOKEN,
    FLASH_ATTN,
    GROUP_MODES,
    RESTART,
    SLOTS,
    SPLIT_MODES,
    Group,
    Price,
    Profile,
    RpcHost,
    Tier,
    Where,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TRUE = {"true", "yes", "on", "1"}
FALSE = {"false", "no", "off", "0"}


class _Bad(Exception):
    """A value of the wrong type or range; the caller adds file/line/key."""


# ---- value checkers: each returns the converted value or raises _Bad ----
def _str(v: Any) -> str:
    if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
        raise _Bad(f"expected a string, got {_kind(v)}")
    return str(v)


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in TRUE | FALSE:
        return v.lower() in TRUE
    raise _Bad(f"expected true/false (or on/off), got {_kind(v)} {v!r}")


def _int(minimum: int = 0) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"expected a whole number, got {_kind(v)} {v!r}")
        if v < minimum:
            raise _Bad(f"must be at least {minimum}, got {v}")
        return int(v)

    return check


def _float_pos(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise _Bad(f"expected a number >= 0, got {v!r}")
    return float(v)


def _enum(*choices: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if isinstance(v, bool):  # YAML 1.1 readers turn on/off into booleans
            v = "on" if v else "off"
        if not isinstance(v, str) or v not in choices:
            raise _Bad(f"expected one of {', '.join(choices)}, got {v!r}")
        return v

    return check


def _ctx(v: Any) -> int | None:
    """A context size per slot: 32768, "32K", "32k" (x1024) or "auto"."""
    if isinstance(v, str):
        s = v.strip().lower()
        if s == "auto":
            return None
        m = re.fullmatch(r"(\d+)\s*(k|ki)?", s)
        if not m:
            raise _Bad(f"expected a number of tokens (32768, 32K) or auto, got {v!r}")
        n = int(m.group(1)) * (1024 if m.group(2) else 1)
    elif isinstance(v, int) and not isinstance(v, bool):
        n = v
    else:
        raise _Bad(f"expected a number of tokens (32768, 32K) or auto, got {_kind(v)}")
    if n < 256:
        raise _Bad(f"context per slot must be at least 256 tokens, got {n}")
    return n


def _port(v: Any) -> int | None:
    if v == "auto":
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise _Bad(f"expected a port 1-65535 or auto, got {v!r}")
    return v


def _ngl(v: Any) -> int | str:
    if v in ("all", "auto"):
        return v
    return _int(0)(v)


def _str_list(v: Any) -> list[str]:
    if isinstance(v, str):
        raise _Bad("expected a list of arguments, e.g. [--temp, '0.6'] (one item per argv word)")
    if not isinstance(v, list):
        raise _Bad(f"expected a list, got {_kind(v)}")
    out = []
    for item in v:
        if isinstance(item, (dict, list)) or item is None:
            raise _Bad(f"list items must be strings or numbers, got {_kind(item)}")
        out.append(str(item).lower() if isinstance(item, bool) else str(item))
    return out


def _str_map(v: Any) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _Bad(f"expected a mapping NAME: value, got {_kind(v)}")
    out = {}
    for k, val in v.items():
        if isinstance(val, (dict, list)) or val is None:
            raise _Bad(f"{k}: values must be strings or numbers, got {_kind(val)}")
        out[str(k)] = str(val).lower() if isinstance(val, bool) else str(val)
    return out


def _tensor_split(v: Any) -> list[float]:
    """-ts as proportions: [3, 1] or "3,1"; at least one positive."""
    items = [p for p in v.split(",") if p.strip()] if isinstance(v, str) else v
    if not isinstance(items, list):
        raise _Bad(f"expected proportions per device, e.g. [3, 1] or \"3,1\", got {_kind(v)}")
    out = []
    for p in items:
        try:
            f = float(p)
        except (TypeError, ValueError):
            raise _Bad(f"{p!r} is not a number") from None
        if isinstance(p, bool) or f < 0:
            raise _Bad(f"{p!r}: proportions are numbers >= 0")
        out.append(f)
    if not out or sum(out) <= 0:
        raise _Bad("needs at least one positive proportion")
    return out


PRICE_KEYS = ("input", "output", "cache_read")


def _price(v: Any) -> Price:
    """`price: {input: 1.0, output: 5.0}`: USD per million tokens (cache_read optional)."""
    if not isinstance(v, dict):
        raise _Bad(f"expected a mapping like {{input: 1.0, output: 5.0}} (USD per million "
                   f"tokens), got {_kind(v)}")
    unknown = [str(k) for k in v if k not in PRICE_KEYS]
    if unknown:
        raise _Bad(f"unknown key {unknown[0]!r} (known: {', '.join(PRICE_KEYS)})")
    missing = [k for k in ("input", "output") if k not in v]
    if missing:
        raise _Bad(f"missing {missing[0]}: give both input and output (USD per million tokens)")
    vals = {}
    for k, x in v.items():
        try:
            vals[str(k)] = _float_pos(x)
        except _Bad:
            raise _Bad(f"{k}: expected a number >= 0 (USD per million tokens), got {x!r}") from None
    return Price(vals["input"], vals["output"], vals.get("cache_read"))


SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "presence_penalty",
                 "frequency_penalty", "repeat_penalty")


def _sampling(v: Any) -> dict[str, float]:
    """Per-request sampling defaults the gateway fills in when a request has none."""
    if not isinstance(v, dict):
        raise _Bad(f"expected a mapping like {{temperature: 0.7, top_p: 0.8}}, got {_kind(v)}")
    out = {}
    for k, val in v.items():
        if k not in SAMPLING_KEYS:
            raise _Bad(f"{k}: unknown sampling key (known: {', '.join(SAMPLING_KEYS)})")
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise _Bad(f"{k}: expected a number, got {_kind(val)}")
        out[str(k)] = val
    return out


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, (int, float)):
        return "a number"
    return "a string"


# Tier keys, the Tier attribute they set, and their checker.
LOCAL_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "kind": ("kind", _enum("local", "remote")),
    "model": ("model", _str),
    "alias": ("alias", _str),
    "slot": ("slot", _enum(*SLOTS, "none")),
    "thinking": ("thinking", _bool),
    "reasoning_budget": ("reasoning_budget", _int(-1)),
    "parallel": ("parallel", _int(1)),
    "ctx_per_slot": ("ctx_per_slot", _ctx),
    "kv_unified": ("kv_unified", _bool),
    "cache_type": ("cache_type", _enum(*CACHE_TYPES)),  # sets both K and V
    "cache_type_k": ("cache_type_k", _enum(*CACHE_TYPES)),
    "cache_type_v": ("cache_type_v", _enum(*CACHE_TYPES)),
    "flash_attn": ("flash_attn", _enum(*FLASH_ATTN)),
    "batch": ("batch", _int(1)),
    "ubatch": ("ubatch", _int(1)),
    "ngl": ("ngl", _ngl),
    "n_cpu_moe": ("n_cpu_moe", _int(0)),
    "threads": ("threads", _int(1)),
    "port": ("port", _port),
    "host": ("host", _str),
    "api_key": ("api_key", _str),
    "extra_args": ("extra_args", _str_list),
    "env": ("env", _str_map),
    "restart": ("restart", _enum(*RESTART)),
    "restart_max": ("restart_max", _int(0)),
    "restart_backoff_s": ("restart_backoff_s", _float_pos),
    "load_timeout_s": ("load_timeout_s", _float_pos),
    "stop_timeout_s": ("stop_timeout_s", _float_pos),
    "metrics": ("metrics", _bool),
    "split_mode": ("split_mode", _enum(*SPLIT_MODES)),
    "tensor_split": ("tensor_split", _tensor_split),
    "main_gpu": ("main_gpu", _int(0)),
    "devices": ("devices", _str_list),
    "use_rpc": ("use_rpc", _bool),
    "price": ("price", _price),
    "chat_template_file": ("chat_template_file", _str),  # a .jinja path or builtin:NAME
    "max_tokens": ("max_tokens", _int(1)),  # gateway: per-request cap
    "sampling": ("sampling", _sampling),  # gateway: per-request defaults
}
REMOTE_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "kind": LOCAL_KEYS["kind"],
    "model": LOCAL_KEYS["model"],
    "alias": LOCAL_KEYS["alias"],
    "slot": LOCAL_KEYS["slot"],
    "api_key": LOCAL_KEYS["api_key"],
    "base_url": ("base_url", _str),
    "api_key_env": ("api_key_env", _str),
}
TOP_KEYS = ("name", "description", "machine", "models", "defaults", "tiers", "groups", "rpc",
            "model_map")
RPC_KEYS = ("host", "memory", "threads", "cache", "device")
GROUP_KEYS = ("name", "mode", "tiers", "default", "ctx_pool")


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    return y


def parse_text(text: str, path: Path) -> CommentedMap:
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise ProfileError(issues=[Issue(path, line, "", f"not valid YAML: {e.problem}")]) from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ProfileError(issues=[Issue(path, 1, "", "a profile must be a YAML mapping")])
    return doc


def _key_line(m: Any, key: Any) -> int:
    try:
        return m.lc.key(key)[0] + 1
    except Exception:
        return _node_line(m)


def _node_line(m: Any) -> int:
    try:
        return m.lc.line + 1
    except Exception:
        return 0


class _Builder:
    def __init__(self, path: Path, source: str, models_dir: Path | None):
        self.path = path
        self.source = source
        self.models_dir = models_dir
        self.issues: list[Issue] = []
        self.notes: list[str] = []  # profile-wide warnings, each said once

    def bad(self, node: Any, key: Any, dotted: str, message: str) -> None:
        self.issues.append(Issue(self.path, _key_line(node, key), dotted, message))

    def build(self, doc: CommentedMap) -> Profile:
        for k in doc:
            if k not in TOP_KEYS:
                self.bad(doc, k, str(k), f"unknown key (known: {', '.join(TOP_KEYS)})")
        prof = Profile(name=self.path.stem, path=self.path, source=self.source)
        for key in ("name", "description", "machine"):
            if key in doc:
                try:
                    setattr(prof, key, _str(doc[key]))
                except _Bad as e:
                    self.bad(doc, key, key, str(e))
        if not NAME_RE.match(prof.name):
            self.bad(doc, "name", "name", "use letters, digits, '-', '_' or '.' only")
        prof.models = self.models(doc)
        prof.rpc = self.rpc_hosts(doc, prof)
        defaults = self.defaults(doc)
        tiers = doc.get("tiers")
        if tiers is None:
            self.issues.append(Issue(self.path, 0, "tiers", "missing: a profile needs tiers"))
        elif not isinstance(tiers, CommentedMap):
            self.bad(doc, "tiers", "tiers", "expected a mapping of tier name -> settings")
        else:
            for name, body in tiers.items():
                t = self.tier(tiers, str(name), body, defaults, prof)
                if t is not None:
                    prof.tiers[t.name] = t
        prof.groups = self.groups(doc, prof)
        prof.model_map = self.model_map(doc, prof)
        self.check_ports(prof)
        prof.warnings += [f"{self.path}: {n}" for n in dict.fromkeys(self.notes)]
        return prof

    def models(self, doc: CommentedMap) -> dict[str, Path]:
        out: dict[str, Path] = {}
        models = doc.get("models")
        if models is None:
            return out
        if not isinstance(models, CommentedMap):
            self.bad(doc, "models", "models", "expected a mapping of name -> path")
            return out
        for name, v in models.items():
            dotted = f"models.{name}"
            if isinstance(v, CommentedMap):
                for k in v:
                    if k != "path":
                        self.bad(v, k, f"{dotted}.{k}", "unknown key (known: path)")
                v = v.get("path")
                if v is None:
                    self.bad(models, name, dotted, "missing path")
                    continue
            try:
                out[str(name)] = self.resolve_path(_str(v))
            except _Bad as e:
                self.bad(models, name, dotted, str(e))
        return out

    def rpc_hosts(self, doc: CommentedMap, prof: Profile) -> list[RpcHost]:
        """rpc: [{host: 127.0.0.1:50052, memory: 8GiB, threads: 4, cache: true}] or ["host:port"]."""
        from tierdeck.core.units import parse_size  # noqa: PLC0415

        raw = doc.get("rpc")
        out: list[RpcHost] = []
        if raw is None:
            return out
        if not isinstance(raw, CommentedSeq):
            self.bad(doc, "rpc", "rpc", "expected a list of rpc-server hosts, e.g. [{host: 127.0.0.1:50052, memory: 8GiB}]")
            return out
        for i, item in enumerate(raw):
            dotted = f"rpc[{i}]"
            node: Any = item if isinstance(item, CommentedMap) else CommentedMap(host=item)
            line = _item_line(raw, i)
            for k in node:
                if k not in RPC_KEYS:
                    self.bad(node, k, f"{dotted}.{k}", f"unknown key (known: {', '.join(RPC_KEYS)})")
            text = node.get("host")
            m = re.fullmatch(r"\[?([^\]\s]*?)\]?:(\d{1,5})", str(text or "").strip())
            if not m or not m.group(1) or not 1 <= int(m.group(2)) <= 65535:
                self.issues.append(Issue(self.path, line, f"{dotted}.host",
                                         f"expected host:port of an rpc-server, e.g. 127.0.0.1:50052, got {text!r}"))
                continue
            h = RpcHost(m.group(1), int(m.group(2)), where=Where(self.path, line))
            try:
                if node.get("memory") is not None:
                    h.memory_bytes = parse_size(str(node["memory"]))
                if node.get("threads") is not None:
                    h.threads = _int(1)(node["threads"])
                if node.get("cache") is not None:
                    h.cache = _bool(node["cache"])
                if node.get("device") is not None:
                    h.device = _str(node["device"])
            except (_Bad, ValueError) as e:
                self.issues.append(Issue(self.path, line, dotted, str(e)))
                continue
            if any(o.endpoint == h.endpoint for o in out):
                self.issues.append(Issue(self.path, line, f"{dotted}.host", f"{h.endpoint} is listed twice"))
                continue
            if not h.loopback:
                prof.warnings.append(f"{self.path}:{line}: {dotted}: {h.endpoint} is not loopback: llama.cpp RPC "
                                     "traffic is unauthenticated and unencrypted, use it only on a network you trust")
            out.append(h)
        return out

    def resolve_path(self, text: str) -> Path:
        if text.startswith("builtin:"):
            from tierdeck.core.demo import (  # noqa: PLC0415
                SMOLLM2_TOKEN,
                builtin_model_path,
                smollm2_missing_note,
                smollm2_path,
            )

            path = builtin_model_path(text)
            if path is None:
                raise _Bad(f"unknown built-in model {text!r} (known: {DEMO_MODEL_TOKEN}, {SMOLLM2_TOKEN})")
            if text == SMOLLM2_TOKEN and smollm2_path() is None:
                self.notes.append(smollm2_missing_note())
            return path
        p = Path(text).expanduser()
        if not p.is_absolute():
            p = (self.models_dir or self.path.parent) / p
        return p

    def resolve_template(self, text: str) -> Path:
        """builtin:NAME is a template TierDeck ships (resources/chat-templates/NAME.jinja)."""
        if text.startswith("builtin:"):
            from tierdeck.core.resources import chat_template_path  # noqa: PLC0415

            p = chat_template_path(text.removeprefix("builtin:"))
            if not p.is_file():
                raise _Bad(f"no built-in chat template {text!r} ({p.parent})")
            return p
        p = Path(text).expanduser()
        return p if p.is_absolute() else self.path.parent / p

    def model_map(self, doc: CommentedMap, prof: Profile) -> dict[str, str]:
        raw = doc.get("model_map")
        if raw is None:
            return {}
        if not isinstance(raw, CommentedMap):
            self.bad(doc, "model_map", "model_map", "expected a mapping model name -> tier")
            return {}
        out = {}
        for k, v in raw.items():
            if not isinstance(v, str) or v not in prof.tiers:
                self.bad(raw, k, f"model_map.{k}",
                         f"{v!r} is not a tier of this profile (tiers: {', '.join(prof.tiers)})")
                continue
            out[str(k)] = v
        return out

    def defaults(self, doc: CommentedMap) -> CommentedMap:
        d = doc.get("defaults")
        if d is None:
            return CommentedMap()
        if not isinstance(d, CommentedMap):
            self.bad(doc, "defaults", "defaults", "expected a mapping of tier settings")
            return CommentedMap()
        for k in d:
            if k not in LOCAL_KEYS or k in ("kind", "alias", "port"):
                self.bad(d, k, f"defaults.{k}", "not a setting that can be shared by all tiers")
        return d

    def tier(self, tiers: CommentedMap, name: str, body: Any, defaults: CommentedMap,
             prof: Profile) -> Tier | None:
        dotted = f"tiers.{name}"
        if not NAME_RE.match(name):
            self.bad(tiers, name, dotted, "tier names use letters, digits, '-', '_' or '.' only")
            return None
        if not isinstance(body, CommentedMap):
            self.bad(tiers, name, dotted, f"expected a mapping of settings, got {_kind(body)}")
            return None
        t = Tier(name=name, where=Where(self.path, _key_line(tiers, name)))
        kind = body.get("kind", "local")
        keys = REMOTE_KEYS if kind == "remote" else LOCAL_KEYS
        merged: list[tuple[CommentedMap, str, Any]] = []
        if kind != "remote":
            merged += [(defaults, f"defaults.{k}", k) for k in defaults if k in LOCAL_KEYS]
        merged += [(body, f"{dotted}.{k}", k) for k in body]
        for node, key_path, k in merged:
            if k not in keys:
                hint = (
                    "not used by a remote tier" if k in LOCAL_KEYS
                    else f"unknown key (known: {', '.join(keys)})"
                )
                self.bad(node, k, key_path, hint)
                continue
            attr, check = keys[k]
            try:
                value = check(node[k])
            except _Bad as e:
                self.bad(node, k, key_path, str(e))
                continue
            if attr == "cache_type":
                t.cache_type_k = t.cache_type_v = value
            else:
                setattr(t, attr, value)
        if t.slot is None and name in SLOTS:
            t.slot = name
        if t.slot == "none":
            t.slot = None
        if t.is_remote:
            if not t.model:
                self.bad(tiers, name, dotted, "a remote tier needs model: (the cloud model id)")
            t.alias = t.alias or (t.model or "")
            t.base_url = t.base_url or "https://api.anthropic.com"
            t.api_key_env = t.api_key_env or "ANTHROPIC_API_KEY"
            return t
        t.alias = t.alias or f"local-{name}"
        if t.use_rpc:
            t.rpc = [h.endpoint for h in prof.rpc]
            t.rpc_hosts = list(prof.rpc)
        if t.chat_template_file:
            key = "chat_template_file"
            node = body if key in body else defaults
            try:
                t.chat_template_file = str(self.resolve_template(t.chat_template_file))
            except _Bad as e:
                self.bad(node, key, f"{dotted}.{key}", str(e))
        if not t.model:
            self.bad(tiers, name, f"{dotted}.model",
                     "missing: a local tier needs model: (a .gguf path, a models: key, builtin:demo or builtin:smollm2)")
            return t
        line = _key_line(body, "model") if "model" in body else _key_line(defaults, "model")
        t.model_where = Where(self.path, line)
        try:
            t.model_path = prof.models.get(t.model) or self.resolve_path(t.model)
        except _Bad as e:
            self.bad(body if "model" in body else defaults, "model", f"{dotted}.model", str(e))
            return t
        if not _is_demo(t.model_path) and not t.model_path.is_file():
            prof.warnings.append(
                f"{t.model_where}: {dotted}.model: model file not found: {t.model_path}"
            )
        return t

    def groups(self, doc: CommentedMap, prof: Profile) -> list[Group]:
        raw = doc.get("groups")
        out: list[Group] = []
        if raw is None:
            return out
        if not isinstance(raw, CommentedSeq):
            self.bad(doc, "groups", "groups", "expected a list of {mode: swap|co-resident, tiers: [...]}")
            return out
        in_swap: dict[str, int] = {}
        in_shared: dict[str, int] = {}
        shared: list[tuple[CommentedMap, list[str], int | None]] = []
        for i, g in enumerate(raw):
            dotted = f"groups[{i}]"
            if not isinstance(g, CommentedMap):
                self.issues.append(Issue(self.path, _item_line(raw, i), dotted, "expected a mapping"))
                continue
            for k in g:
                if k not in GROUP_KEYS:
                    self.bad(g, k, f"{dotted}.{k}", f"unknown key (known: {', '.join(GROUP_KEYS)})")
            try:
                mode = _enum(*GROUP_MODES)(g.get("mode"))
                members = _str_list(g.get("tiers"))
            except _Bad as e:
                key = "mode" if "mode" not in g or g.get("mode") not in GROUP_MODES else "tiers"
                self.bad(g, key if key in g else None, f"{dotted}.{key}", str(e))
                continue
            if mode == "shared":
                pool = None
                if "ctx_pool" in g:
                    try:
                        pool = _ctx(g["ctx_pool"])
                    except _Bad as e:
                        self.bad(g, "ctx_pool", f"{dotted}.ctx_pool", str(e))
                if self.shared_members(g, dotted, members, prof, in_shared, i):
                    shared.append((g, members, pool))
                out.append(Group(mode=mode, tiers=members, name=str(g.get("name", "")),
                                 ctx_pool=pool))
                continue
            for m in members:
                if m not in prof.tiers:
                    self.bad(g, "tiers", f"{dotted}.tiers", f"no tier named {m!r}")
                elif prof.tiers[m].is_remote:
                    self.bad(g, "tiers", f"{dotted}.tiers", f"{m!r} is remote: nothing to start")
                elif mode == "swap" and m in in_swap:
                    self.bad(g, "tiers", f"{dotted}.tiers", f"{m!r} is already in swap group {in_swap[m]}")
                elif mode == "swap":
                    in_swap[m] = i
            if "ctx_pool" in g:
                self.bad(g, "ctx_pool", f"{dotted}.ctx_pool", "only a shared group has a pool")
            default = g.get("default")
            if default is not None and default not in members and default not in prof.tiers:
                self.bad(g, "default", f"{dotted}.default", f"{default!r} is not a member")
            out.append(Group(mode=mode, tiers=members, name=str(g.get("name", "")), default=default))
        for g, members, pool in shared:
            from tierdeck.core.profiles.engines import build_engine  # noqa: PLC0415

            engine, warnings = build_engine([prof.tiers[m] for m in members],
                                            Where(self.path, _node_line(g)), ctx_pool=pool)
            prof.engines[engine.name] = engine
            prof.warnings += warnings
        self.check_swap_engines(out, prof, raw)
        return out

    def shared_members(self, g: CommentedMap, dotted: str, members: list[str], prof: Profile,
                       in_shared: dict[str, int], i: int) -> bool:
        key = f"{dotted}.tiers"
        before = len(self.issues)
        if len(members) < 2:
            self.bad(g, "tiers", key, "a shared group needs at least two tiers")
        for m in members:
            if m not in prof.tiers:
                self.bad(g, "tiers", key, f"no tier named {m!r}")
            elif prof.tiers[m].is_remote:
                self.bad(g, "tiers", key, f"{m!r} is remote: it has no engine to share")
            elif m in in_shared:
                self.bad(g, "tiers", key, f"{m!r} is already in shared group {in_shared[m]}")
            else:
                in_shared[m] = i
        if len(self.issues) > before:
            return False
        paths = {prof.tiers[m].model_path for m in members}
        if len(paths) > 1:
            self.bad(g, "tiers", key, "tiers of a shared group must use one GGUF "
                     f"({', '.join(f'{m}: {prof.tiers[m].model_path}' for m in members)})")
            return False
        return True

    def check_swap_engines(self, groups: list[Group], prof: Profile, raw: Any) -> None:
        """Swap groups speak engines: two members of one engine cannot swap with each other,
        and one engine cannot be in two swap groups."""
        seen: dict[str, int] = {}
        for i, g in enumerate(groups):
            if g.mode != "swap":
                continue
            engines = [prof.engine_of(t) for t in g.tiers]
            node = raw[i] if isinstance(raw[i], CommentedMap) else raw
            if g.default is not None and g.default not in g.tiers \
                    and prof.engine_of(g.default) not in engines:
                self.bad(node, "default", f"groups[{i}].default",
                         f"{g.default!r} is not a member (nor shares an engine with one)")
            for e in dict.fromkeys(engines):
                if e in prof.engines and engines.count(e) > 1:
                    self.bad(node, "tiers", f"groups[{i}].tiers",
                             f"{' and '.join(prof.engines[e].members)} share one engine: "
                             "they cannot swap with each other")
                elif e in seen and seen[e] != i and e in prof.engines:
                    self.bad(node, "tiers", f"groups[{i}].tiers",
                             f"engine {e} is already in swap group {seen[e]}")
                seen.setdefault(e, i)

    def check_ports(self, prof: Profile) -> None:
        seen: dict[tuple[str, int], Tier] = {}
        for t in prof.local_tiers:
            if t.port is None:
                continue
            other = seen.get((t.host, t.port))
            if other is None:
                seen[(t.host, t.port)] = t
                continue
            if prof.engine_of(t.name) == prof.engine_of(other.name):
                continue  # one shared engine: one server, one port
            g = prof.swap_group_of(t.name)
            if g is not None and other.name in g.tiers:
                continue  # swap partners never run together: one URL for whichever is up
            line = t.where.line if t.where else 0
            self.issues.append(Issue(
                self.path, line, f"tiers.{t.name}.port",
                f"duplicate port {t.port}: tier {other.name!r} uses it too "
                "(only members of one swap group may share a port)",
            ))


def _item_line(seq: Any, i: int) -> int:
    try:
        return seq.lc.item(i)[0] + 1
    except Exception:
        return _node_line(seq)


def _is_demo(p: Path) -> bool:
    from tierdeck.core.demo import is_builtin  # noqa: PLC0415

    return is_builtin(p)


def profile_from_text(text: str, path: Path, source: str = "user",
                      models_dir: Path | None = None) -> Profile:
    doc = parse_text(text, path)
    b = _Builder(path, source, models_dir)
    prof = b.build(doc)
    if b.issues:
        raise ProfileError(issues=sorted(b.issues, key=lambda i: i.line))
    return prof


def load_profile_file(path: Path, source: str = "user", models_dir: Path | None = None) -> Profile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProfileError(issues=[Issue(path, 0, "", f"cannot read: {e.strerror or e}")]) from None
    except UnicodeDecodeError:
        raise ProfileError(issues=[Issue(path, 0, "", "not a UTF-8 text file")]) from None
    return profile_from_text(text, path, source, models_dir)
