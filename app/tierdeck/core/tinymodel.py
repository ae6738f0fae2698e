"""Write a tiny but real llama-architecture GGUF (random weights) with the gguf package.

It loads in llama-server in well under a second and streams gibberish fast on a CPU: enough
for the demo profile, lifecycle tests, metrics and planner-vs-log checks. Nothing here is a
stand-in: llama-server parses and runs the file like any other model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

# A ChatML template: enough for /v1/chat/completions and /v1/messages with --jinja.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
WORDS = ["▁hello", "▁world", "▁tier", "▁deck", "▁the", "▁a", "▁is", "▁fast", "▁local", "▁model"]


@dataclass
class TinySpec:
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2  # per-layer arrays need another arch: see core/gguf/synth.py
    n_ff: int = 128
    n_ctx_train: int = 4096
    extra_words: int = 0  # grows the vocabulary (bigger output/logits buffers)
    name: str = "TierDeck tiny demo"
    seed: int = 0


def vocab(spec: TinySpec) -> tuple[list[str], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)] + WORDS
    tokens += [f"▁w{i}" for i in range(spec.extra_words)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.NORMAL] * (len(tokens) - len(types))
    return tokens, [int(t) for t in types]


def write_tiny_model(path: Path, spec: TinySpec | None = None) -> Path:
    spec = spec or TinySpec()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    head_dim = spec.n_embd // spec.n_head
    tokens, types = vocab(spec)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(spec.name)
    w.add_block_count(spec.n_layer)
    w.add_context_length(spec.n_ctx_train)
    w.add_embedding_length(spec.n_embd)
    w.add_feed_forward_length(spec.n_ff)
    w.add_head_count(spec.n_head)
    w.add_head_count_kv(spec.n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 3 + [-1000.0] * 256 + [-float(i) for i in range(len(tokens) - 259)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_chat_template(CHAT_TEMPLATE)

    def t(name: str, *shape: int) -> None:
        # numpy shape is ggml's ne reversed: (rows, cols) = (out, in)
        w.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    def ones(name: str, n: int) -> None:
        w.add_tensor(name, np.ones(n, dtype=np.float32))

    n_vocab = len(tokens)
    t("token_embd.weight", n_vocab, spec.n_embd)
    n_kv = spec.n_head_kv
    for i in range(spec.n_layer):
        ones(f"blk.{i}.attn_norm.weight", spec.n_embd)
        t(f"blk.{i}.attn_q.weight", spec.n_embd, spec.n_embd)
        t(f"blk.{i}.attn_k.weight", n_kv * head_dim, spec.n_embd)
        t(f"blk.{i}.attn_v.weight", n_kv * head_dim, spec.n_embd)
        t(f"blk.{i}.attn_output.weight", spec.n_embd, spec.n_embd)
        ones(f"blk.{i}.ffn_norm.weight", spec.n_embd)
        t(f"blk.{i}.ffn_gate.weight", spec.n_ff, spec.n_embd)
        t(f"blk.{i}.ffn_up.weight", spec.n_ff, spec.n_embd)
        t(f"blk.{i}.ffn_down.weight", spec.n_embd, spec.n_ff)
    ones("output_norm.weight", spec.n_embd)
    t("output.weight", n_vocab, spec.n_embd)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
