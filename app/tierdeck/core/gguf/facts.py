"""What a planner needs to know about a model, read from its GGUF header (and split parts).

Per-layer facts are resolved here the way llama.cpp resolves them when it loads the model
(src/llama-model.cpp, src/models/<arch>.cpp, src/llama-hparams.cpp of the Nov 2026 build):
per-layer head-count arrays, sliding-window layers from the GGUF pattern or the
architecture's default period, hybrid recurrent layers, MLA, and MTP/nextn layers that the
main context keeps no KV for. The planner only does arithmetic on the result.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tierdeck.core.gguf.reader import GGUFError, RawGGUF, SkippedArray, parse
from tierdeck.core.gguf.types import FILE_TYPES, GGML_TYPES

SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")

# arch -> (default period, dense_first, default window or None, SWA only when the GGUF has a window)
SWA_DEFAULTS: dict[str, tuple[int, bool, int | None, bool]] = {
    "gemma2": (2, False, 4096, False),
    "gemma3": (6, False, None, True),
    "gemma-embedding": (6, False, None, True),
    "gemma3n": (5, False, None, True),
    "gpt-oss": (2, False, None, True),
    "cohere2": (4, False, None, True),
    "cohere2moe": (4, True, None, True),
    "llama4": (4, False, None, True),
    "exaone4": (4, False, 4096, True),
    "exaone-moe": (4, False, 128, False),
    "afmoe": (4, False, None, True),
    "olmo2": (4, False, None, True),
    "mellum": (4, False, None, True),
    "muse-glimmer": (4, False, None, True),
}
# hybrid archs whose layer split follows full_attention_interval (default 4)
INTERVAL_HYBRID = {"qwen3next", "qwen35", "qwen35moe", "qwen4exp"}
# other hybrids: a layer without KV heads is a recurrent (SSM) layer
HEADLESS_HYBRID = {"jamba", "granitehybrid", "nemotron_h", "nemotron_h_moe", "plamo2", "lfm2", "lfm2moe"}
PURE_RECURRENT = {"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"}
# architectures whose KV layout the planner knows; others use the generic formula
KNOWN_ARCHS = {
    "llama", "qwen2", "qwen3", "qwen3moe", "qwen2moe", "mistral3", "phi3", "granite", "olmoe",
    "deepseek2", "glm4", "glm4moe", "command-r", "starcoder2", "smollm3", "ernie4_5",
    "ernie4_5-moe", "hunyuan-moe", "seed_oss", "deci",
} | set(SWA_DEFAULTS) | INTERVAL_HYBRID | PURE_RECURRENT | {"jamba", "granitehybrid"}


@dataclass
class TensorEntry:
    name: str
    shape: list[int]  # ggml order (ne0 = row length first)
    ggml_type: str
    n_bytes: int
    file: int  # split part index (0-based)
    offset: int


@dataclass
class LayerKV:
    """One layer's attention cache row width per cell (elements), as llama.cpp allocates it."""

    il: int
    n_embd_k: int  # n_embd_head_k(il) * n_head_kv(il)
    n_embd_v: int  # 0 for MLA (K-only cache)
    swa: bool


@dataclass
class ModelFacts:
    path: str
    files: list[str]
    file_bytes: int
    gguf_version: int
    arch: str
    name: str | None
    size_label: str | None
    file_type: str | None
    param_count: int
    ctx_train: int
    n_layer: int  # block_count (includes MTP/nextn blocks)
    n_layer_nextn: int
    n_embd: int
    n_head: list[int]
    n_head_kv: list[int]
    key_length: int
    value_length: int
    key_length_swa: int | None
    value_length_swa: int | None
    n_swa: int
    swa_layers: list[bool]
    swa_source: str
    is_mla: bool
    key_length_mla: int | None
    value_length_mla: int | None
    kv_lora_rank: int | None
    recurrent_layers: list[bool]
    full_attention_interval: int | None
    ssm_conv_kernel: int
    ssm_inner_size: int
    ssm_state_size: int
    ssm_group_count: int
    ssm_time_step_rank: int
    n_expert: int
    n_expert_used: int
    n_expert_shared: int
    expert_ff_length: int | None
    n_ff: list[int]
    vocab_size: int
    weights_bytes: int
    tensors: list[TensorEntry] = field(default_factory=list)
    kv_layers: list[LayerKV] = field(default_factory=list)
    # bytes per block index (repeating layers), expert tensors per block, and the rest
    layer_bytes: list[int] = field(default_factory=list)
    layer_expert_bytes: list[int] = field(default_factory=list)
    output_bytes: int = 0  # output.weight + output_norm (offloaded with -ngl as one more layer)
    embd_bytes: int = 0  # token_embd: always stays in host memory with llama.cpp
    other_bytes: int = 0
    mapped_bytes: int = 0  # per file, first tensor offset to last tensor end (mmap range), summed
    known_arch: bool = True
    notes: list[str] = field(default_factory=list)
    q_lora_rank: int | None = None  # MLA: low-rank query (absent in "lite" models: one wq)
    rope_dim: int = 0  # {arch}.rope.dimension_count (MLA: the rope part of each K head)

    @property
    def n_layer_main(self) -> int:
        return self.n_layer - self.n_layer_nextn

    @property
    def is_hybrid(self) -> bool:
        return any(self.recurrent_layers) and self.arch not in PURE_RECURRENT

    @property
    def n_recurrent_layers(self) -> int:
        return sum(1 for il, r in enumerate(self.recurrent_layers) if r and il < self.n_layer_main)

    def kv_elements_per_token(self) -> int:
        """K+V elements per cell summed over KV layers (before the cache type is applied)."""
        return sum(lk.n_embd_k + lk.n_embd_v for lk in self.kv_layers)

    def to_dict(self, tensors: bool = True) -> dict:
        d = asdict(self)
        d["kv_layers"] = len([lk for lk in self.kv_layers if lk.n_embd_k or lk.n_embd_v])
        d["kv_layer_detail"] = [asdict(lk) for lk in self.kv_layers]
        d["swa_layer_count"] = sum(1 for lk in self.kv_layers if lk.swa)
        d["recurrent_layer_count"] = self.n_recurrent_layers
        d["is_hybrid"] = self.is_hybrid
        d["n_tensors"] = len(self.tensors)
        if not tensors:
            d.pop("tensors")
            d.pop("layer_bytes")
            d.pop("layer_expert_bytes")
        return d


def split_parts(path: Path) -> list[Path]:
    m = SPLIT_RE.match(path.name)
    if not m:
        return [path]
    count = int(m.group("count"))
    if count < 1 or int(m.group("no")) < 1 or int(m.group("no")) > count:
        raise GGUFError(path, f"split name says part {m.group('no')} of {m.group('count')}")
    parts = [path.with_name(f"{m.group('stem')}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [p.name for p in parts if not p.exists()]
    if missing:
        raise GGUFError(path, f"split model is missing part(s): {', '.join(missing)}")
    return parts


def _int(v, default: int = 0) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    return default


def _per_layer(path: Path, key: str, v, n: int, default: int) -> list[int]:
    if v is None:
        return [default] * n
    if isinstance(v, list):
        if len(v) < n:
            raise GGUFError(path, f"{key} has {len(v)} values for {n} layers")
        return [_int(x) for x in v[:n]]
    if isinstance(v, SkippedArray):
        raise GGUFError(path, f"{key} has {v.count} values for {n} layers")
    return [_int(v, default)] * n


def read_facts(path: str | Path) -> ModelFacts:
    """Read a model's facts from its GGUF header(s). Raises GGUFError on any bad file."""
    path = Path(path)
    parts = split_parts(path)
    raws = [parse(p) for p in parts]
    if len(parts) > 1:
        count = _int(raws[0].kv.get("split.count"), len(parts))
        if count != len(parts):
            raise GGUFError(path, f"split.count says {count} parts, found {len(parts)}")
    return facts_from_raw(parts[0], raws)


def facts_from_raw(path: Path, raws: list[RawGGUF]) -> ModelFacts:
    kv = raws[0].kv
    arch = kv.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise GGUFError(path, "no general.architecture key: not a model GGUF")
    notes: list[str] = []

    def a(key: str, default=None):
        return kv.get(f"{arch}.{key}", default)

    n_layer = _int(a("block_count"), 0)
    if n_layer <= 0 or n_layer > 4096:
        raise GGUFError(path, f"{arch}.block_count is {a('block_count')!r}")
    n_nextn = _int(a("nextn_predict_layers"), 0)
    if not 0 <= n_nextn <= n_layer:
        raise GGUFError(path, f"{arch}.nextn_predict_layers = {n_nextn} > block_count")
    n_main = n_layer - n_nextn
    n_embd = _int(a("embedding_length"), 0)
    n_head = _per_layer(path, f"{arch}.attention.head_count", a("attention.head_count"), n_layer, 0)
    n_head_kv_raw = a("attention.head_count_kv")
    n_head_kv = (
        list(n_head) if n_head_kv_raw is None
        else _per_layer(path, f"{arch}.attention.head_count_kv", n_head_kv_raw, n_layer, 0)
    )
    n_ff = _per_layer(path, f"{arch}.feed_forward_length", a("feed_forward_length"), n_layer, 0)
    h0 = n_head[0] if n_head and n_head[0] else 0
    key_len = _int(a("attention.key_length"), n_embd // h0 if h0 else 0)
    # as llama_model::load_hparams: each defaults to n_embd / n_head on its own
    val_len = _int(a("attention.value_length"), n_embd // h0 if h0 else 0)
    key_len_swa = a("attention.key_length_swa")
    val_len_swa = a("attention.value_length_swa")
    key_len_mla = a("attention.key_length_mla")
    val_len_mla = a("attention.value_length_mla")
    is_mla = bool(_int(key_len_mla) and _int(val_len_mla))

    # sliding window: which layers, and how wide
    n_swa = _int(a("attention.sliding_window"), 0)
    swa = [False] * n_layer
    swa_source = "none"
    pattern = a("attention.sliding_window_pattern")
    period_default = SWA_DEFAULTS.get(arch)
    if period_default and period_default[2] and not n_swa:
        n_swa = period_default[2]
    swa_active = n_swa > 0 and (period_default is not None or pattern is not None)
    if period_default and period_default[3] and _int(a("attention.sliding_window"), 0) <= 0:
        swa_active = False
    if swa_active:
        if isinstance(pattern, list) and pattern and all(isinstance(x, bool) for x in pattern):
            if len(pattern) < n_layer:
                raise GGUFError(path, f"{arch}.attention.sliding_window_pattern has {len(pattern)} values for {n_layer} layers")
            swa = [bool(x) for x in pattern[:n_layer]]
            swa_source = "gguf sliding_window_pattern (per layer)"
        else:
            period = period_default[0] if period_default else 0
            dense_first = period_default[1] if period_default else False
            if isinstance(pattern, int) and not isinstance(pattern, bool):
                period = pattern
                swa_source = f"gguf sliding_window_pattern = {pattern}"
            else:
                swa_source = f"{arch} default period {period}"
            for il in range(n_main):
                if dense_first:
                    swa[il] = period == 0 or il % period != 0
                else:
                    swa[il] = period == 0 or il % period < period - 1
    elif n_swa > 0 and period_default is None:
        notes.append(f"{arch} has sliding_window={n_swa} but no known layer pattern: all layers counted as full attention")

    # recurrent (SSM / linear attention) layers
    recurrent = [False] * n_layer
    fai = None
    rec_raw = a("attention.recurrent_layers")
    if arch in PURE_RECURRENT:
        recurrent = [True] * n_layer
    elif isinstance(rec_raw, list) and rec_raw:
        recurrent = [bool(x) for x in _per_layer(path, f"{arch}.attention.recurrent_layers", rec_raw, n_layer, 0)]
    elif arch in INTERVAL_HYBRID:
        fai = _int(a("full_attention_interval"), 4) or 4
        recurrent = [il < n_main and (il + 1) % fai != 0 for il in range(n_layer)]
    elif arch in HEADLESS_HYBRID:
        recurrent = [il < n_main and n_head_kv[il] == 0 for il in range(n_layer)]

    # the KV layers, as llama_kv_cache allocates them for the main context
    kv_layers: list[LayerKV] = []
    for il in range(n_main):
        if recurrent[il]:
            continue
        if arch in PURE_RECURRENT:
            continue
        hk = n_head_kv[il]
        kl = _int(key_len_swa) if swa[il] and key_len_swa is not None else key_len
        vl = _int(val_len_swa) if swa[il] and val_len_swa is not None else val_len
        kv_layers.append(LayerKV(il, kl * hk, 0 if is_mla else vl * hk, swa[il]))
    if a("attention.shared_kv_layers") is not None:
        notes.append("layers that reuse another layer's KV (shared_kv_layers) are counted as separate")

    tokens = kv.get("tokenizer.ggml.tokens")
    vocab = _int(a("vocab_size"), 0) or (len(tokens) if isinstance(tokens, list | SkippedArray) else 0)

    # tensor table, split parts in order
    tensors: list[TensorEntry] = []
    layer_bytes = [0] * n_layer
    layer_exp = [0] * n_layer
    out_b = embd_b = other_b = 0
    n_params = 0
    for fi, raw in enumerate(raws):
        for t in raw.tensors:
            tname = GGML_TYPES[t.ggml_type][0]
            tensors.append(TensorEntry(t.name, list(t.shape), tname, t.n_bytes, fi, t.offset))
            n_params += t.n_elements
            if t.name.startswith("blk."):
                try:
                    il = int(t.name.split(".", 2)[1])
                except ValueError:
                    il = -1
                if 0 <= il < n_layer:
                    layer_bytes[il] += t.n_bytes
                    if "_exps." in t.name or t.name.endswith("_exps"):
                        layer_exp[il] += t.n_bytes
                    continue
                other_b += t.n_bytes
            elif t.name.startswith("output"):
                out_b += t.n_bytes
            elif t.name.startswith("token_embd") or t.name.startswith("per_layer_token_embd"):
                embd_b += t.n_bytes
            else:
                other_b += t.n_bytes
    if not vocab:
        for t in tensors:
            if t.name == "token_embd.weight" and len(t.shape) >= 2:
                vocab = t.shape[1]
    weights = sum(t.n_bytes for t in tensors)
    mapped = sum(
        max(t.offset + t.n_bytes for t in r.tensors) - min(t.offset for t in r.tensors)
        for r in raws if r.tensors
    )

    ft = kv.get("general.file_type")
    ft_name = None if ft is None else FILE_TYPES.get(_int(ft, -1), f"unknown ({ft})")

    known = arch in KNOWN_ARCHS
    if not known:
        notes.append(f"architecture {arch!r} is not one the planner knows: generic formula used "
                     "(every layer with KV heads holds a full-context KV cache)")
    if is_mla:
        notes.append("MLA: the cache holds the compressed latent K only (no V), as llama.cpp builds from 2026 do")

    return ModelFacts(
        path=str(path),
        files=[str(r.path) for r in raws],
        file_bytes=sum(r.file_size for r in raws),
        gguf_version=raws[0].version,
        arch=arch,
        name=kv.get("general.name") if isinstance(kv.get("general.name"), str) else None,
        size_label=kv.get("general.size_label") if isinstance(kv.get("general.size_label"), str) else None,
        file_type=ft_name,
        param_count=n_params,
        ctx_train=_int(a("context_length"), 0),
        n_layer=n_layer,
        n_layer_nextn=n_nextn,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        key_length=key_len,
        value_length=val_len,
        key_length_swa=_int(key_len_swa) if key_len_swa is not None else None,
        value_length_swa=_int(val_len_swa) if val_len_swa is not None else None,
        n_swa=n_swa if any(swa) else 0,
        swa_layers=swa,
        swa_source=swa_source,
        is_mla=is_mla,
        key_length_mla=_int(key_len_mla) if key_len_mla is not None else None,
        value_length_mla=_int(val_len_mla) if val_len_mla is not None else None,
        kv_lora_rank=_int(a("attention.kv_lora_rank")) if a("attention.kv_lora_rank") is not None else None,
        recurrent_layers=recurrent,
        full_attention_interval=fai,
        ssm_conv_kernel=_int(a("ssm.conv_kernel"), 0),
        ssm_inner_size=_int(a("ssm.inner_size"), 0),
        ssm_state_size=_int(a("ssm.state_size"), 0),
        ssm_group_count=_int(a("ssm.group_count"), 0),
        ssm_time_step_rank=_int(a("ssm.time_step_rank"), 0),
        n_expert=_int(a("expert_count"), 0),
        n_expert_used=_int(a("expert_used_count"), 0),
        n_expert_shared=_int(a("expert_shared_count"), 0),
        expert_ff_length=_int(a("expert_feed_forward_length")) if isinstance(a("expert_feed_forward_length"), int) else None,
        n_ff=n_ff,
        vocab_size=vocab,
        weights_bytes=weights,
        tensors=tensors,
        kv_layers=kv_layers,
        layer_bytes=layer_bytes,
        layer_expert_bytes=layer_exp,
        output_bytes=out_b,
        embd_bytes=embd_b,
        other_bytes=other_b,
        mapped_bytes=mapped,
        known_arch=known,
        notes=notes,
        q_lora_rank=_int(a("attention.q_lora_rank")) if a("attention.q_lora_rank") is not None else None,
        rope_dim=_int(a("rope.dimension_count"), 0),
    )
