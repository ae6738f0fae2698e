"""Byte formulas for each memory component, read from llama.cpp (Nov 2026 build):
src/llama-context.cpp (context padding, output buffer, reserve), src/llama-kv-cache*.cpp
(KV tensors per layer and stream, SWA cache size), src/llama-memory-recurrent.cpp (R/S state),
src/llama-model.cpp (which layer lives on which device for -ngl).

KV, recurrent state and weights are deterministic and match llama-server's log exactly
(tests/core/planner). The compute buffer is a model of ggml-alloc's peak, see compute_bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierdeck.core.gguf import ModelFacts

# bytes per block, elements per block (ggml type traits) for the cache types llama-server accepts
CACHE_TYPES: dict[str, tuple[int, int]] = {
    "f32": (4, 1),
    "f16": (2, 1),
    "bf16": (2, 1),
    "q8_0": (34, 32),
    "q5_1": (24, 32),
    "q5_0": (22, 32),
    "q4_1": (20, 32),
    "q4_0": (18, 32),
    "iq4_nl": (18, 32),
}
TENSOR_ALIGN = 32  # ggml CPU buffer alignment; KV rows x 256 cells are multiples of it anyway


def pad(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def row_bytes(cache_type: str, n: int) -> int:
    size, block = CACHE_TYPES[cache_type]
    if n % block:
        raise ValueError(f"a {cache_type} cache needs rows that are multiples of {block} (row is {n})")
    return n // block * size


@dataclass(frozen=True)
class Cells:
    n_ctx: int  # total after llama.cpp's padding (what -c becomes)
    n_ctx_seq: int  # cells per stream (= per slot context)
    n_stream: int  # 1 when unified, else n_seq
    n_seq: int
    swa_cells: int  # cells per stream of the SWA cache (0 when the model has no SWA layers)


def cells(f: ModelFacts, n_ctx: int, n_seq: int, unified: bool, n_ubatch: int, swa_full: bool = False) -> Cells:
    """llama_context's n_ctx / n_ctx_seq rules, then llama_kv_cache_iswa's SWA size."""
    n_seq = max(1, n_seq)
    n_ctx = pad(max(n_ctx, 1), 256)
    if unified:
        n_ctx_seq = n_ctx
    else:
        n_ctx_seq = pad(n_ctx // n_seq, 256)
        n_ctx = n_ctx_seq * n_seq
    swa = 0
    if any(lk.swa for lk in f.kv_layers):
        ub = min(n_ubatch, n_ctx)
        swa = n_ctx_seq if swa_full else pad(min(n_ctx_seq, f.n_swa * (n_seq if unified else 1) + ub), 256)
    return Cells(n_ctx, n_ctx_seq, 1 if unified else n_seq, n_seq, swa)


def v_row_max(f: ModelFacts) -> int:
    """[TAG_V_CACHE_VARIABLE]: without flash attention V is stored transposed and every
    layer's V row is padded to the widest one across all layers."""
    best = 0
    for il in range(f.n_layer):
        vl = f.value_length
        if f.swa_layers[il] and f.value_length_swa is not None:
            vl = f.value_length_swa
        best = max(best, vl * f.n_head_kv[il])
    return best


def kv_layer_bytes(
    f: ModelFacts, c: Cells, type_k: str, type_v: str, flash_attn: bool
) -> list[tuple[int, int]]:
    """(layer index, bytes) of K+V for every layer that has a cache."""
    vmax = 0 if flash_attn or f.is_mla else v_row_max(f)
    out = []
    for lk in f.kv_layers:
        n_cells = (c.swa_cells if lk.swa else c.n_ctx_seq) * c.n_stream
        k = pad(row_bytes(type_k, lk.n_embd_k) * n_cells, TENSOR_ALIGN) if lk.n_embd_k else 0
        v = 0
        if not f.is_mla:
            nv = lk.n_embd_v if flash_attn else vmax
            v = pad(row_bytes(type_v, nv) * n_cells, TENSOR_ALIGN) if nv else 0
        out.append((lk.il, k + v))
    return out


def recurrent_rows(f: ModelFacts) -> tuple[int, int]:
    """(r, s) f32 elements per sequence per recurrent layer (hparams.n_embd_r / n_embd_s)."""
    if f.arch.startswith("rwkv") or f.arch == "arwkv7":
        return 0, 0  # needs wkv_head_size/token_shift_count: reported as unknown by the caller
    r = max(f.ssm_conv_kernel - 1, 0) * (f.ssm_inner_size + 2 * f.ssm_group_count * f.ssm_state_size)
    s = f.ssm_state_size * f.ssm_inner_size
    return r, s


def recurrent_layer_bytes(f: ModelFacts, n_seq: int) -> list[tuple[int, int]]:
    r, s = recurrent_rows(f)
    rows = max(1, n_seq)
    per = pad(4 * r * rows, TENSOR_ALIGN) + pad(4 * s * rows, TENSOR_ALIGN)
    return [(il, per) for il in range(f.n_layer_main) if f.recurrent_layers[il]]


def output_buffer_bytes(f: ModelFacts, n_seq: int) -> int:
    """llama_context::output_reserve at init: logits for one output per sequence, f32.
    It lives in host memory (pinned on CUDA), not on the GPU."""
    return f.vocab_size * max(1, n_seq) * 4


def gpu_layer_start(f: ModelFacts, ngl: int | None) -> int:
    """First block index on the GPU; the output layer (index n_layer) counts as one layer."""
    if ngl is None or ngl < 0:
        return 0
    return max(f.n_layer + 1 - ngl, 0)


def _ffn(n_ff: int, e: int) -> int:
    # when the FFN width equals n_embd, ggml-alloc reuses a freed row of the same size
    return 12 * n_ff + (12 if n_ff == e else 20) * e + 41


def _moe_down(used: int, n_ff_exp: int, e: int, hybrid: bool = False) -> int:
    """Bytes per token at the down-projection moment of build_moe_ffn (used >= 2).

    The down projection writes one n_embd row per used expert ([n_embd, used, tokens], f32),
    weighted in place, and it stays alive through the chain of adds that sums the experts.
    When n_embd > 2 x expert width that tensor cannot go into the hole left by the freed up and
    gate rows, so it lands on top of them and of the activation (12 B per used x expert width)
    once those are wider than an n_embd row (narrower ones sit in freed n_embd rows; after a
    gated-delta-net block no such row is free, so rows exactly n_embd wide stack too).
    Measured on qwen3moe shapes (1-8 used of 8 experts, width 32-768, n_embd 256-2048, 8-32
    heads) and qwen35moe ones (separate or merged gate_up experts, shared expert): exact to the
    byte with flash attention. A single expert (cont, no adds) is left to the plain FFN term.
    """
    if used < 2:
        return 0
    down = 4 * used * e + 20 * e + 41
    wide = used * n_ff_exp
    if e > 2 * n_ff_exp and (wide > e or (hybrid and wide == e)):
        down += 12 * used * n_ff_exp
    return down


class _Arena:
    """ggml-alloc's dynamic allocator in miniature: a tensor goes into the smallest freed hole
    that holds it, else on top; freed neighbours merge. The peak top is the buffer size."""

    def __init__(self) -> None:
        self.holes: list[list[int]] = []  # [start, size], sorted
        self.top = self.peak = 0
        self.live: dict[str, tuple[int, int]] = {}

    def alloc(self, name: str, n: int) -> None:
        fits = [h for h in self.holes if h[1] >= n]
        if fits:
            h = min(fits, key=lambda h: h[1])
            self.live[name] = (h[0], n)
            h[0] += n
            h[1] -= n
            self.holes = [h for h in self.holes if h[1]]
        else:
            self.live[name] = (self.top, n)
            self.top += n
            self.peak = max(self.peak, self.top)

    def release(self, *names: str) -> None:
        for name in names:
            self.holes.append(list(self.live.pop(name)))
        self.holes.sort()
        merged: list[list[int]] = []
        for h in self.holes:
            if merged and merged[-1][0] + merged[-1][1] == h[0]:
                merged[-1][1] += h[1]
            else:
                merged.append(h)
        if merged and merged[-1][0] + merged[-1][1] == self.top:
            self.top = merged.pop()[0]
        self.holes = merged


def mla_attention_floats(f: ModelFacts) -> int:
    """f32 elements per token at the peak of an absorbed-MLA attention block (deepseek2 with a
    K-only cache: llm_build_deepseek2 + build_attn_mha with v_mla), nodes in graph order.
    Its intermediates (q, q absorbed into the latent, the concatenated Q of kv_lora_rank + rope
    per head) are several times the usual Q row and fragment the buffer, so the allocator is
    replayed instead of summed. Measured on 40 generated shapes: within -4% / +5% of
    llama-server for 8 heads or more."""
    h = max(f.n_head) if f.n_head else 1
    e = f.n_embd
    r = f.rope_dim
    lat = f.kv_lora_rank or max(f.key_length - r, 0)
    nope = max((f.key_length_mla or 0) - r, 0)
    dv = f.value_length_mla or 0
    qr = f.q_lora_rank or 0
    a = _Arena()
    a.alloc("inp", e)
    a.alloc("norm", e)
    if qr:
        a.alloc("q_a", qr)
        a.alloc("q_a_norm", qr)
        a.release("q_a")
    a.alloc("q", h * (nope + r))
    if qr:
        a.release("q_a_norm")
    a.alloc("q_absorbed", h * lat)
    a.alloc("q_pe", h * r)
    a.release("q")
    a.alloc("Q", h * (lat + r))
    a.release("q_absorbed", "q_pe")
    a.alloc("kv_pe", lat + r)
    a.release("norm")
    a.alloc("kv", lat)
    a.alloc("k_pe", r)
    a.alloc("K", lat + r)
    a.release("k_pe", "kv_pe")
    a.alloc("attn", h * lat)
    a.release("Q", "K", "kv")
    a.alloc("v_mla", h * dv)
    a.release("attn")
    a.alloc("cont", h * dv)
    a.release("v_mla")
    a.alloc("wo", e)
    # measured: the previous layer leaves about two n_embd rows below the block
    return a.peak + 2 * e


def mask_kinds(f: ModelFacts, c: Cells) -> list[int]:
    """Cells per stream of each attention mask the graph builds: full attention, then SWA."""
    kinds = []
    if any(not lk.swa for lk in f.kv_layers):
        kinds.append(c.n_ctx_seq)
    if any(lk.swa for lk in f.kv_layers):
        kinds.append(c.swa_cells)
    return kinds


def mask_bytes(f: ModelFacts, c: Cells, n_ubatch: int, n_batch: int, flash_attn: bool) -> int:
    """The attention mask(s) for one ubatch: f16 with flash attention, f32 without."""
    n_t = min(n_ubatch, n_batch, c.n_ctx)
    return n_t * (2 if flash_attn else 4) * sum(mask_kinds(f, c))


def compute_bytes(
    f: ModelFacts, c: Cells, n_ubatch: int, n_batch: int, flash_attn: bool, type_k: str,
    logits_all: bool = False,
) -> int:
    """Peak of the worst-case (prompt-processing) graph that llama-server reserves on a CPU.

    ggml-alloc frees every intermediate after its last use, so the buffer holds the largest
    set of tensors alive at one moment, per token of the ubatch:
      - the attention mask(s), alive throughout: one per cache kind (full / SWA),
        n_kv cells per stream, f16 with flash attention, f32 without;
      - the feed-forward moment: 12 B per n_ff (up, gate, activation in f32) + 20 B per n_embd;
        for MoE the same with n_ff = experts used x expert width, and the down-projection
        moment (one n_embd row per used expert, see _moe_down), which rules with many experts;
      - the attention moment: without flash attention the KQ matrix (4 B x heads x n_kv)
        dominates; with it, Q/K/V/output rows. Absorbed MLA (deepseek2) replays the
        allocator over its much wider intermediates instead (mla_attention_floats).
    llama-server reserves logits for one output per slot only (n_outputs_max = n_parallel),
    so the vocabulary barely matters. llama-fit-params reserves logits for every token of the
    ubatch instead (logits_all=True: one more moment, 4 B x n_vocab + 20 B x n_embd per token).
    Coefficients were measured on llama-server -lv 4 logs of generated models (see
    tests/core/planner/test_vs_llama_server.py for the tolerance).
    """
    n_t = min(n_ubatch, n_batch, c.n_ctx)
    e = f.n_embd or 1
    h = max(f.n_head) if f.n_head else 1
    dk = f.key_length_mla if f.is_mla and f.key_length_mla else f.key_length
    n_q = h * dk
    kvdim = max((lk.n_embd_k for lk in f.kv_layers), default=0)
    kinds = mask_kinds(f, c)
    n_kv = max(kinds, default=0)
    mask = (2 if flash_attn else 4) * sum(kinds)
    moe_down = 0
    if f.n_expert and f.expert_ff_length:
        used = max(f.n_expert_used, 1)
        # measured: the routed experts behave like one FFN of used x expert width
        ffn = _ffn(used * f.expert_ff_length, e)
        moe_down = _moe_down(used, f.expert_ff_length, e, any(f.recurrent_layers))
        if used > 1 and used * f.expert_ff_length < e:
            ffn = 0  # the narrow up/gate/act rows reuse freed n_embd rows: the down moment rules
        if f.n_expert_shared:
            ffn = max(ffn, _ffn(f.n_expert_shared * f.expert_ff_length, e))
    else:
        ffn = _ffn(max(f.n_ff) if f.n_ff else 4 * e, e)
    if f.is_mla and f.kv_lora_rank:
        # inputs (tokens, positions, cache indices) measured at ~276 B per token
        attn = 4 * mla_attention_floats(f) + 276
    elif flash_attn:
        attn = 12 * n_q + 12 * e + 4 * kvdim + 808
    else:
        attn = 12 * n_q + 12 * e + 8 * kvdim + 20
    if not flash_attn:
        ffn += 4 * n_kv
        attn += 4 * h * n_kv  # the KQ matrix, f32, on top of the rest
    rec = 0
    if any(f.recurrent_layers):
        # gated delta net, chunked per sequence: fitted on qwen35 shapes (value dim =
        # ssm.inner_size, key dim = state x groups); short sequences per ubatch cost more
        key_dim = f.ssm_state_size * f.ssm_group_count
        rec = 20 * e + 9 * f.ssm_inner_size + 15 * key_dim + 41
        if n_t // max(1, c.n_seq) < 256:
            rec = rec * 135 // 100
    logits = 4 * f.vocab_size + 20 * e if logits_all else 0
    return n_t * (mask + max(ffn, moe_down, attn, rec, logits))


def row_bytes_error(cache_type: str, n: int) -> bool:
    return n % CACHE_TYPES[cache_type][1] != 0
