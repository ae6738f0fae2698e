"""Which layer lives on which device when llama.cpp spreads one model over several.

Read from llama.cpp (src/llama-model.cpp load_tensors, src/llama.cpp llama_model_load,
b11434):
- The model's device list, which `--tensor-split` indexes, is the RPC devices first (in
  `--rpc` order), then the local GPUs (llama_model_load: "add RPC servers at the front of the
  list to minimize network transfers"). `--device` replaces that list.
- Split weights default to each device's free memory; `-ts` replaces them. They are summed
  into cumulative float32 split points and normalised by the total.
- Layers 0..n_layer (n_layer is the output layer) are offloaded from the back:
  i_gpu_start = max(n_layer + 1 - ngl, 0), act = min(ngl, n_layer + 1); layer il goes to the
  first device whose split point is above float(il - i_gpu_start) / act (std::upper_bound),
  or stays on the CPU. The input layer (token_embd) always stays on the CPU.
- `-sm none` keeps only the main GPU; `-sm row` keeps every layer on the main GPU but splits
  the rows of each weight matrix across the devices by the split weights (CUDA/SYCL only).
Pure functions; the byte accounting per device is in planner/multi.py.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from dataclasses import dataclass

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.planner.memory import pad

SPLIT_MODES = ("layer", "row", "none")
CPU = -1  # "device" index of layers left in host RAM
_BLK = re.compile(r"^blk\.(\d+)\.")
# ggml buffer alignment per backend: CPU (and a CPU rpc-server) 32 (TENSOR_ALIGNMENT), CUDA 128
ALIGN = {"cpu": 32, "rpc": 32, "nvidia": 128, "apple": 32}
# CUDA allocates one row's worth of padding to 512 elements (MATRIX_ROW_PADDING) after a
# quantized matrix whose rows are not a multiple of it (ggml_backend_cuda_buffer_type_get_alloc_size)
CUDA_ROW_PADDING = 512


def f32(x: float) -> float:
    """Round to float32 (a float64 sum or quotient of two float32 rounds to the exact float32
    result, so this reproduces llama.cpp's float arithmetic without numpy on the CLI path)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def split_points(weights: list[float]) -> list[float]:
    """Cumulative, normalised split points, in float32 as llama.cpp computes them."""
    if not weights or sum(weights) <= 0:
        raise ValueError("a tensor split needs at least one positive weight")
    cum, s = [], 0.0
    for w in weights:
        s = f32(s + f32(w))
        cum.append(s)
    return [f32(c / s) for c in cum]


def assign_layers(n_layer: int, ngl: int | None, weights: list[float]) -> list[int]:
    """Device index (into weights) of layers 0..n_layer (the last is the output layer); CPU = -1."""
    n_dev = len(weights)
    pts = split_points(weights) if n_dev else []
    ngl_eff = n_layer + 1 if ngl is None or ngl < 0 else ngl
    start = max(n_layer + 1 - ngl_eff, 0)
    act = 0 if n_dev == 0 else min(ngl_eff, n_layer + 1)
    out = []
    for il in range(n_layer + 1):
        if il < start or il - start >= act:
            out.append(CPU)
            continue
        out.append(min(bisect_right(pts, f32((il - start) / act)), n_dev - 1))
    return out


def counts_to_split(counts: list[int]) -> list[float]:
    """A -ts that reproduces these per-device layer counts exactly (output layer included):
    split point k is sum(counts[:k+1]) / (n_layer + 1), the same float32 as layer index / act."""
    return [float(c) for c in counts]


def layer_counts(assign: list[int], n_dev: int) -> list[int]:
    c = [0] * n_dev
    for d in assign:
        if d != CPU:
            c[d] += 1
    return c


def fmt_split(weights: list[float]) -> str:
    """-ts as llama.cpp parses it: comma-separated proportions."""
    return ",".join(f"{w:g}" for w in weights)


def parse_split(text: str | list) -> list[float]:
    """'3,1' or '24,12' or [3, 1] -> [3.0, 1.0]; negative or non-numbers are errors."""
    items = text if isinstance(text, list) else [p for p in re.split(r"[,/]", str(text)) if p.strip()]
    out = []
    for p in items:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise ValueError(f"tensor split: {p!r} is not a number") from None
        if v < 0:
            raise ValueError(f"tensor split: {v:g} is negative")
        out.append(v)
    if not out or sum(out) <= 0:
        raise ValueError("tensor split: needs at least one positive proportion")
    return out


@dataclass(frozen=True)
class LayerWeights:
    """Weights grouped the way devices receive them, padded to one backend's alignment."""

    layers: tuple[int, ...]  # per repeating layer
    matrices: tuple[int, ...]  # per layer: the 2-D part (what -sm row splits)
    experts: tuple[int, ...]  # per layer: ffn_*_exps (what --n-cpu-moe keeps on the host)
    output: int  # output.weight + output_norm
    embd: int  # token_embd (input layer, host)
    other: int
    tied_output: bool  # no output.weight: token_embd is copied to the output device


_PLAIN = ("F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64")


def _prod(xs: list[int]) -> int:
    p = 1
    for x in xs:
        p *= x
    return p


_cache: dict[tuple[int, str], tuple[ModelFacts, LayerWeights]] = {}


def layer_weights(f: ModelFacts, kind: str) -> LayerWeights:
    """Per-layer bytes as a `kind` buffer allocates them (each tensor padded to its alignment,
    CUDA also pads quantized rows). Cached per facts object: plans call this in a loop."""
    key = (id(f), kind)
    hit = _cache.get(key)
    if hit is not None and hit[0] is f:
        return hit[1]
    align = ALIGN.get(kind, 32)
    n = f.n_layer
    lay, mat, exp = [0] * n, [0] * n, [0] * n
    out = embd = other = 0
    has_output = False
    for t in f.tensors:
        b = t.n_bytes
        ne0 = t.shape[0] if t.shape else 0
        if kind == "nvidia" and t.ggml_type not in _PLAIN and ne0 % CUDA_ROW_PADDING:
            rows = max(1, _prod(t.shape[1:]))
            b += (t.n_bytes // rows) * (CUDA_ROW_PADDING - ne0 % CUDA_ROW_PADDING) // ne0
        b = pad(b, align)
        m = _BLK.match(t.name)
        if m and int(m.group(1)) < n:
            il = int(m.group(1))
            lay[il] += b
            if len(t.shape) >= 2 and t.shape[1] > 1:
                mat[il] += b
            if "_exps" in t.name:
                exp[il] += b
        elif t.name.startswith("output"):
            out += b
            has_output = has_output or t.name == "output.weight"
        elif t.name.startswith(("token_embd", "per_layer_token_embd")):
            embd += b
        else:
            other += b
    lw = LayerWeights(tuple(lay), tuple(mat), tuple(exp), out, embd, other, not has_output)
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = (f, lw)
    return lw
