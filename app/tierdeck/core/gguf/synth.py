"""Write GGUFs with a real header and tensor table but no weights: metadata-only or sparse.

Used by the tests (published shapes of real models) and bench/plan_bench.py (a 14B dense and
a 30B-A3B MoE whose data region is a sparse hole: ~9-17 GB apparent size, no disk used).
llama-fit-params can dry-run such a file because it never reads tensor data.
data="random" writes small random F32/F16 weights instead: tiny models llama-server loads
(tests/core/planner checks the planner against its load logs on them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

Q = gguf.GGMLQuantizationType


@dataclass
class TensorSpec:
    name: str
    shape: tuple[int, ...]  # ggml order: ne0 (row length) first
    qtype: Q = Q.F32

    @property
    def n_bytes(self) -> int:
        block, size = gguf.GGML_QUANT_SIZES[self.qtype]
        rows = 1
        for d in self.shape[1:]:
            rows *= d
        return rows * (self.shape[0] // block) * size


@dataclass
class SynthModel:
    arch: str
    kv: dict[str, object] = field(default_factory=dict)  # full key -> value (typed below)
    tensors: list[TensorSpec] = field(default_factory=list)
    vocab: int = 0  # writes a SentencePiece-style token list of this length when > 0




def _add(w: gguf.GGUFWriter, key: str, v) -> None:
    if isinstance(v, bool):
        w.add_bool(key, v)
    elif isinstance(v, int):
        w.add_uint32(key, v) if v >= 0 else w.add_int32(key, v)
    elif isinstance(v, float):
        w.add_float32(key, v)
    elif isinstance(v, str):
        w.add_string(key, v)
    elif isinstance(v, list | tuple):
        if v and all(isinstance(x, bool) for x in v):
            w.add_array(key, [bool(x) for x in v])
        elif v and all(isinstance(x, int) for x in v):
            w.add_key_value(key, list(v), gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
        else:
            w.add_array(key, list(v))
    else:
        raise TypeError(f"{key}: cannot write {type(v).__name__}")


def spm_vocab(n: int) -> tuple[list[str], list[float], list[int]]:
    base = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    toks = base + [f"\u2581w{i}" for i in range(max(0, n - len(base)))]
    toks = toks[:n]
    types = [int(gguf.TokenType.UNKNOWN), int(gguf.TokenType.CONTROL), int(gguf.TokenType.CONTROL)]
    types += [int(gguf.TokenType.BYTE)] * 256
    types += [int(gguf.TokenType.NORMAL)] * (n - len(types))
    scores = [0.0] * 3 + [-1000.0] * 256 + [-float(i) for i in range(n - 259)]
    return toks, scores[:n], types[:n]


def write_model(path: str | Path, model: SynthModel, data: str = "sparse") -> Path:
    """Write header + KV + tensor infos; data="sparse" leaves the data region a hole,
    "none" writes no data (a metadata-only file the reader rejects only if it has tensors),
    "random" writes small random F32/F16 weights so llama-server can load and run it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), model.arch)
    for k, v in model.kv.items():
        _add(w, k, v)
    if model.vocab:
        toks, scores, types = spm_vocab(model.vocab)
        w.add_tokenizer_model("llama")
        w.add_token_list(toks)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    rng = np.random.default_rng(0)
    for t in model.tensors:
        shape = list(reversed(t.shape))  # numpy order
        if data == "random":
            if t.name.endswith("norm.weight"):
                arr = np.ones(shape, dtype=np.float32)
            else:
                arr = (rng.standard_normal(shape) * 0.02).astype(np.float32)
            w.add_tensor(t.name, arr.astype(np.float16) if t.qtype == Q.F16 else arr)
        else:
            w.add_tensor_info(t.name, shape, np.dtype(np.float32), t.n_bytes, raw_dtype=t.qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    if data == "random":
        w.write_tensors_to_file()
    else:
        w.write_ti_data_to_file()
    w.close()
    if data == "sparse" and model.tensors:
        align = int(model.kv.get("general.alignment", 32))
        size = os.path.getsize(path)
        data_start = (size + align - 1) // align * align
        total = 0
        for t in model.tensors:
            total = (total + align - 1) // align * align + t.n_bytes
        with open(path, "r+b") as f:
            f.truncate(data_start + total)
    return path


# ---- shape builders -------------------------------------------------------------------


def _arch_kv(arch: str, **kv) -> dict[str, object]:
    return {f"{arch}.{k}": v for k, v in kv.items()}


def dense_model(
    arch: str,
    *,
    name: str,
    n_layer: int,
    n_embd: int,
    n_head: int,
    n_head_kv: int | Sequence[int],
    head_dim: int,
    n_ff: int,
    vocab: int,
    ctx_train: int,
    qtype: Q = Q.Q4_K,
    tied_output: bool = False,
    qk_norm: bool = True,
    post_norms: bool = False,
    extra_kv: dict[str, object] | None = None,
    write_vocab: bool = True,
) -> SynthModel:
    """A llama/qwen3-style dense transformer with a real-size tensor table."""
    kvs = per_layer(n_head_kv, n_layer)
    kv = {"general.name": name, "general.file_type": {Q.Q4_K: 15, Q.F32: 0}.get(qtype, 1)}
    kv.update(_arch_kv(
        arch, block_count=n_layer, context_length=ctx_train, embedding_length=n_embd,
        feed_forward_length=n_ff, **{"attention.head_count": n_head},
    ))
    kv[f"{arch}.attention.head_count_kv"] = n_head_kv if isinstance(n_head_kv, int) else list(kvs)
    kv[f"{arch}.attention.key_length"] = head_dim
    kv[f"{arch}.attention.value_length"] = head_dim
    kv[f"{arch}.rope.dimension_count"] = head_dim
    kv[f"{arch}.attention.layer_norm_rms_epsilon"] = 1e-6
    kv[f"{arch}.rope.freq_base"] = 1000000.0
    kv.update(extra_kv or {})
    ts = [TensorSpec("token_embd.weight", (n_embd, vocab), qtype)]
    for il in range(n_layer):
        ts += _attn(il, n_embd, n_head, kvs[il], head_dim, qtype, qk_norm)
        if post_norms:
            ts += [TensorSpec(f"blk.{il}.post_attention_norm.weight", (n_embd,)),
                   TensorSpec(f"blk.{il}.post_ffw_norm.weight", (n_embd,))]
        ts += [
            TensorSpec(f"blk.{il}.ffn_norm.weight", (n_embd,)),
            TensorSpec(f"blk.{il}.ffn_gate.weight", (n_embd, n_ff), qtype),
            TensorSpec(f"blk.{il}.ffn_up.weight", (n_embd, n_ff), qtype),
            TensorSpec(f"blk.{il}.ffn_down.weight", (n_ff, n_embd), Q.Q6_K if qtype == Q.Q4_K else qtype),
        ]
    ts.append(TensorSpec("output_norm.weight", (n_embd,)))
    if not tied_output:
        ts.append(TensorSpec("output.weight", (n_embd, vocab), Q.Q6_K if qtype == Q.Q4_K else qtype))
    return SynthModel(arch, kv, ts, vocab if write_vocab else 0)


def moe_model(
    arch: str,
    *,
    name: str,
    n_layer: int,
    n_embd: int,
    n_head: int,
    n_head_kv: int,
    head_dim: int,
    n_expert: int,
    n_expert_used: int,
    n_ff_exp: int,
    vocab: int,
    ctx_train: int,
    qtype: Q = Q.Q4_K,
    write_vocab: bool = True,
) -> SynthModel:
    """A qwen3moe-style MoE (30B-A3B shape) with expert tensors merged per layer."""
    hi = Q.Q6_K if qtype == Q.Q4_K else qtype
    kv = {"general.name": name, "general.file_type": 15}
    kv.update(_arch_kv(
        arch, block_count=n_layer, context_length=ctx_train, embedding_length=n_embd,
        feed_forward_length=n_ff_exp * n_expert_used, expert_count=n_expert,
        expert_used_count=n_expert_used, expert_feed_forward_length=n_ff_exp,
        **{"attention.head_count": n_head, "attention.head_count_kv": n_head_kv,
           "attention.key_length": head_dim, "attention.value_length": head_dim,
           "rope.dimension_count": head_dim, "attention.layer_norm_rms_epsilon": 1e-6,
           "rope.freq_base": 1000000.0},
    ))
    ts = [TensorSpec("token_embd.weight", (n_embd, vocab), qtype)]
    for il in range(n_layer):
        ts += _attn(il, n_embd, n_head, n_head_kv, head_dim, qtype, True)
        ts += [
            TensorSpec(f"blk.{il}.ffn_norm.weight", (n_embd,)),
            TensorSpec(f"blk.{il}.ffn_gate_inp.weight", (n_embd, n_expert)),
            TensorSpec(f"blk.{il}.ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert), qtype),
            TensorSpec(f"blk.{il}.ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert), qtype),
            TensorSpec(f"blk.{il}.ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert), hi),
        ]
    ts += [TensorSpec("output_norm.weight", (n_embd,)), TensorSpec("output.weight", (n_embd, vocab), hi)]
    return SynthModel(arch, kv, ts, vocab if write_vocab else 0)


def _attn(il: int, n_embd: int, n_head: int, n_kv: int, hd: int, qtype: Q, qk_norm: bool) -> list[TensorSpec]:
    if n_kv == 0:  # deci: a layer without KV heads is a plain linear map
        return [TensorSpec(f"blk.{il}.attn_norm.weight", (n_embd,)),
                TensorSpec(f"blk.{il}.attn_output.weight", (n_embd, n_embd), qtype)]
    ts = [
        TensorSpec(f"blk.{il}.attn_norm.weight", (n_embd,)),
        TensorSpec(f"blk.{il}.attn_q.weight", (n_embd, n_head * hd), qtype),
        TensorSpec(f"blk.{il}.attn_k.weight", (n_embd, n_kv * hd), qtype),
        TensorSpec(f"blk.{il}.attn_v.weight", (n_embd, n_kv * hd), Q.Q6_K if qtype == Q.Q4_K else qtype),
        TensorSpec(f"blk.{il}.attn_output.weight", (n_head * hd, n_embd), qtype),
    ]
    if qk_norm:
        ts += [TensorSpec(f"blk.{il}.attn_q_norm.weight", (hd,)), TensorSpec(f"blk.{il}.attn_k_norm.weight", (hd,))]
    return ts


def per_layer(v: int | Sequence[int], n: int) -> list[int]:
    return [v] * n if isinstance(v, int) else list(v)


def qwen3_14b(write_vocab: bool = True) -> SynthModel:
    """Qwen3-14B (published config): 40 layers, 5120 wide, 40 heads / 8 KV heads of 128."""
    return dense_model(
        "qwen3", name="Qwen3-14B (synthetic header)", n_layer=40, n_embd=5120, n_head=40,
        n_head_kv=8, head_dim=128, n_ff=17408, vocab=151936, ctx_train=40960, write_vocab=write_vocab,
    )


def qwen3_30b_a3b(write_vocab: bool = True) -> SynthModel:
    """Qwen3-30B-A3B (published config): 48 layers, 2048 wide, 32/4 heads of 128, 128 experts, 8 used."""
    return moe_model(
        "qwen3moe", name="Qwen3-30B-A3B (synthetic header)", n_layer=48, n_embd=2048, n_head=32,
        n_head_kv=4, head_dim=128, n_expert=128, n_expert_used=8, n_ff_exp=768, vocab=151936,
        ctx_train=40960, write_vocab=write_vocab,
    )


Builder = Callable[..., SynthModel]


def qwen35_hybrid(
    *, name: str, n_layer: int, n_embd: int, n_head: int, n_head_kv: int, head_dim: int, n_ff: int,
    vocab: int, ctx_train: int, ssm_state: int, ssm_groups: int, ssm_v_heads: int,
    conv_kernel: int = 4, interval: int = 4, qtype: Q = Q.F32,
) -> SynthModel:
    """A qwen35 (Qwen3.5/3.6 dense) hybrid: gated-delta-net layers and one attention layer
    every `interval`, with the tensor names and shapes llama.cpp's qwen35 loader expects."""
    a = "qwen35"
    key_dim = ssm_state * ssm_groups
    value_dim = ssm_state * ssm_v_heads
    kv = {"general.name": name, "general.file_type": 0}
    kv.update(_arch_kv(
        a, block_count=n_layer, context_length=ctx_train, embedding_length=n_embd,
        feed_forward_length=n_ff, full_attention_interval=interval,
        **{"attention.head_count": n_head, "attention.head_count_kv": n_head_kv,
           "attention.key_length": head_dim, "attention.value_length": head_dim,
           "attention.layer_norm_rms_epsilon": 1e-6, "rope.dimension_count": head_dim // 2,
           "rope.dimension_sections": [head_dim // 8, head_dim // 16, head_dim // 16, 0],
           "rope.freq_base": 1000000.0,
           "ssm.conv_kernel": conv_kernel, "ssm.inner_size": value_dim, "ssm.state_size": ssm_state,
           "ssm.group_count": ssm_groups, "ssm.time_step_rank": ssm_v_heads},
    ))
    ts = [TensorSpec("token_embd.weight", (n_embd, vocab), qtype)]
    for il in range(n_layer):
        ts += [TensorSpec(f"blk.{il}.attn_norm.weight", (n_embd,)),
               TensorSpec(f"blk.{il}.post_attention_norm.weight", (n_embd,))]
        if (il + 1) % interval == 0:
            ts += [
                TensorSpec(f"blk.{il}.attn_q.weight", (n_embd, head_dim * n_head * 2), qtype),
                TensorSpec(f"blk.{il}.attn_k.weight", (n_embd, head_dim * n_head_kv), qtype),
                TensorSpec(f"blk.{il}.attn_v.weight", (n_embd, head_dim * n_head_kv), qtype),
                TensorSpec(f"blk.{il}.attn_output.weight", (head_dim * n_head, n_embd), qtype),
                TensorSpec(f"blk.{il}.attn_q_norm.weight", (head_dim,)),
                TensorSpec(f"blk.{il}.attn_k_norm.weight", (head_dim,)),
            ]
        else:
            ts += [
                TensorSpec(f"blk.{il}.attn_qkv.weight", (n_embd, key_dim * 2 + value_dim), qtype),
                TensorSpec(f"blk.{il}.attn_gate.weight", (n_embd, value_dim), qtype),
                TensorSpec(f"blk.{il}.ssm_conv1d.weight", (conv_kernel, key_dim * 2 + value_dim)),
                TensorSpec(f"blk.{il}.ssm_dt.bias", (ssm_v_heads,)),
                TensorSpec(f"blk.{il}.ssm_a", (ssm_v_heads,)),
                TensorSpec(f"blk.{il}.ssm_beta.weight", (n_embd, ssm_v_heads), qtype),
                TensorSpec(f"blk.{il}.ssm_alpha.weight", (n_embd, ssm_v_heads), qtype),
                TensorSpec(f"blk.{il}.ssm_norm.weight", (ssm_state,)),
                TensorSpec(f"blk.{il}.ssm_out.weight", (value_dim, n_embd), qtype),
            ]
        ts += [
            TensorSpec(f"blk.{il}.ffn_gate.weight", (n_embd, n_ff), qtype),
            TensorSpec(f"blk.{il}.ffn_up.weight", (n_embd, n_ff), qtype),
            TensorSpec(f"blk.{il}.ffn_down.weight", (n_ff, n_embd), qtype),
        ]
    ts += [TensorSpec("output_norm.weight", (n_embd,)), TensorSpec("output.weight", (n_embd, vocab), qtype)]
    return SynthModel(a, kv, ts, vocab)


def qwen35_moe(
    *, name: str, n_layer: int, n_embd: int, n_head: int, n_head_kv: int, head_dim: int, n_expert: int,
    n_expert_used: int, n_ff_exp: int, n_ff_shexp: int, vocab: int, ctx_train: int, ssm_state: int,
    ssm_groups: int, ssm_v_heads: int, interval: int = 4,
) -> SynthModel:
    """A qwen35moe (Qwen3.5/3.6-A3B style) hybrid: the qwen35 layers with each dense FFN
    replaced by routed experts plus a sigmoid-gated shared expert (all F32)."""
    m = qwen35_hybrid(name=name, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv,
                      head_dim=head_dim, n_ff=n_ff_exp, vocab=vocab, ctx_train=ctx_train, ssm_state=ssm_state,
                      ssm_groups=ssm_groups, ssm_v_heads=ssm_v_heads, interval=interval)
    a = "qwen35moe"
    kv = {k.replace("qwen35.", a + ".", 1): v for k, v in m.kv.items() if k != "qwen35.feed_forward_length"}
    kv.update(_arch_kv(a, expert_count=n_expert, expert_used_count=n_expert_used,
                       expert_feed_forward_length=n_ff_exp, expert_shared_feed_forward_length=n_ff_shexp))
    ts = []
    for t in m.tensors:
        if t.name.endswith(("ffn_gate.weight", "ffn_up.weight", "ffn_down.weight")):
            continue
        ts.append(t)
        if t.name.endswith("post_attention_norm.weight"):
            p = t.name[: -len("post_attention_norm.weight")]
            ts += [TensorSpec(p + "ffn_gate_inp.weight", (n_embd, n_expert)),
                   TensorSpec(p + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert)),
                   TensorSpec(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert)),
                   TensorSpec(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert)),
                   TensorSpec(p + "ffn_gate_inp_shexp.weight", (n_embd,)),
                   TensorSpec(p + "ffn_gate_shexp.weight", (n_embd, n_ff_shexp)),
                   TensorSpec(p + "ffn_up_shexp.weight", (n_embd, n_ff_shexp)),
                   TensorSpec(p + "ffn_down_shexp.weight", (n_ff_shexp, n_embd))]
    return SynthModel(a, kv, ts, vocab)


def gemma3_swa(
    *, name: str, n_layer: int, n_embd: int, n_head: int, n_head_kv: int, head_dim: int, n_ff: int,
    vocab: int, ctx_train: int, sliding_window: int, pattern: int | None = None, qtype: Q = Q.F32,
) -> SynthModel:
    """A gemma3: Q/K norms, post-attention and post-FFN norms, tied output. llama.cpp makes
    every 6th layer (il % 6 == 5) full attention and the others SWA unless the GGUF has
    attention.sliding_window_pattern (`pattern` writes it as an integer period)."""
    extra: dict[str, object] = {"gemma3.attention.sliding_window": sliding_window,
                                "gemma3.rope.freq_base_swa": 10000.0}
    if pattern is not None:
        extra["gemma3.attention.sliding_window_pattern"] = pattern
    return dense_model(
        "gemma3", name=name, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv,
        head_dim=head_dim, n_ff=n_ff, vocab=vocab, ctx_train=ctx_train, qtype=qtype,
        tied_output=True, qk_norm=True, post_norms=True, extra_kv=extra,
    )


def deepseek2_mla(
    *, name: str, n_layer: int, n_embd: int, n_head: int, q_lora_rank: int, kv_lora_rank: int,
    rope_dim: int, qk_nope_dim: int, v_head_dim: int, n_ff: int, n_expert: int, n_expert_used: int,
    n_expert_shared: int, n_ff_exp: int, n_dense_lead: int, vocab: int, ctx_train: int,
    qtype: Q = Q.F32,
) -> SynthModel:
    """A deepseek2 (MLA: DeepSeek V2/V3, GLM-4.7-Flash, Kimi) as current converters write it:
    the attention is stored in its absorbed form (attn_k_b / attn_v_b split per head), so the
    GGUF says head_count_kv = 1, key_length = kv_lora_rank + rope dims, value_length =
    kv_lora_rank, and the per-head sizes go to key_length_mla / value_length_mla.
    The first n_dense_lead blocks have a dense FFN, the rest routed + shared experts.
    Every row length must be a multiple of qtype's block (F32/F16 for a loadable model)."""
    a = "deepseek2"
    kv = {"general.name": name, "general.file_type": {Q.F32: 0, Q.F16: 1}.get(qtype, 15)}
    kv.update(_arch_kv(
        a, block_count=n_layer, context_length=ctx_train, embedding_length=n_embd,
        feed_forward_length=n_ff, expert_count=n_expert, expert_used_count=n_expert_used,
        expert_shared_count=n_expert_shared, expert_feed_forward_length=n_ff_exp,
        leading_dense_block_count=n_dense_lead, expert_weights_scale=1.0, expert_weights_norm=True,
        expert_gating_func=2,  # sigmoid, as V3 / GLM-4.7-Flash
        **{"attention.head_count": n_head, "attention.head_count_kv": 1,
           "attention.key_length": kv_lora_rank + rope_dim, "attention.value_length": kv_lora_rank,
           "attention.key_length_mla": qk_nope_dim + rope_dim, "attention.value_length_mla": v_head_dim,
           "attention.q_lora_rank": q_lora_rank, "attention.kv_lora_rank": kv_lora_rank,
           "attention.layer_norm_rms_epsilon": 1e-6, "rope.dimension_count": rope_dim,
           "rope.freq_base": 10000.0},
    ))
    ts = [TensorSpec("token_embd.weight", (n_embd, vocab), qtype)]
    for il in range(n_layer):
        p = f"blk.{il}."
        ts += [
            TensorSpec(p + "attn_norm.weight", (n_embd,)),
            TensorSpec(p + "attn_q_a_norm.weight", (q_lora_rank,)),
            TensorSpec(p + "attn_q_a.weight", (n_embd, q_lora_rank), qtype),
            TensorSpec(p + "attn_q_b.weight", (q_lora_rank, n_head * (qk_nope_dim + rope_dim)), qtype),
            TensorSpec(p + "attn_kv_a_norm.weight", (kv_lora_rank,)),
            TensorSpec(p + "attn_kv_a_mqa.weight", (n_embd, kv_lora_rank + rope_dim), qtype),
            TensorSpec(p + "attn_k_b.weight", (qk_nope_dim, kv_lora_rank, n_head), qtype),
            TensorSpec(p + "attn_v_b.weight", (kv_lora_rank, v_head_dim, n_head), qtype),
            TensorSpec(p + "attn_output.weight", (n_head * v_head_dim, n_embd), qtype),
            TensorSpec(p + "ffn_norm.weight", (n_embd,)),
        ]
        if il < n_dense_lead:
            ts += [TensorSpec(p + "ffn_gate.weight", (n_embd, n_ff), qtype),
                   TensorSpec(p + "ffn_up.weight", (n_embd, n_ff), qtype),
                   TensorSpec(p + "ffn_down.weight", (n_ff, n_embd), qtype)]
        else:
            sh = n_ff_exp * n_expert_shared
            ts += [TensorSpec(p + "ffn_gate_inp.weight", (n_embd, n_expert)),
                   TensorSpec(p + "exp_probs_b.bias", (n_expert,)),
                   TensorSpec(p + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert), qtype),
                   TensorSpec(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert), qtype),
                   TensorSpec(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert), qtype),
                   TensorSpec(p + "ffn_gate_shexp.weight", (n_embd, sh), qtype),
                   TensorSpec(p + "ffn_up_shexp.weight", (n_embd, sh), qtype),
                   TensorSpec(p + "ffn_down_shexp.weight", (sh, n_embd), qtype)]
    ts += [TensorSpec("output_norm.weight", (n_embd,)), TensorSpec("output.weight", (n_embd, vocab), qtype)]
    return SynthModel(a, kv, ts, vocab)
