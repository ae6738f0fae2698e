"""One plan evaluation: a model, a tier's settings and a device -> bytes per component.

Pure arithmetic on ModelFacts (no I/O), cheap enough for every GUI slider move.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import memory as m
from tierdeck.core.units import MiB, fmt_bytes

# Each process pays a CUDA context outside llama.cpp's buffers (measured ~120-550 MiB; ~330
# on a 24 GB card). Metal and CPU allocate no comparable fixed block.
CUDA_CONTEXT_BYTES = 330 * MiB
QUANT_V_NEEDS_FA = "llama.cpp refuses a quantized V cache without flash attention"
# MLA keeps K only and reads V as a view of it (llama_init_from_model checks both, MLA or not)
MLA_KV_TYPES_DIFFER = "llama.cpp refuses different K and V cache types for an MLA model (V is read from the K cache)"


@dataclass
class PlanRequest:
    ctx_per_slot: int | None = None  # None = auto: the largest that fits
    parallel: int = 1
    kv_unified: bool = False
    type_k: str = "f16"  # or "auto" in fit_context: f16, then q8_0, then q4_0
    type_v: str = "f16"
    flash_attn: str = "auto"  # "on" | "off" | "auto"
    ubatch: int = 512
    batch: int = 2048
    ngl: int | None = None  # None = all layers on the GPU
    n_cpu_moe: int = 0
    min_ctx_per_slot: int = 0
    swa_full: bool = False

    def replace(self, **kw) -> PlanRequest:
        d = asdict(self)
        d.update(kw)
        return PlanRequest(**d)


@dataclass
class Estimate:
    weights_bytes: int  # on the planned device
    kv_bytes: int
    recurrent_bytes: int
    compute_bytes: int
    output_bytes: int  # host (pinned) memory on a GPU; counted in the total only for CPU/Apple
    overhead_bytes: int
    total_bytes: int  # what the device must hold
    budget_bytes: int
    fits: bool
    ctx_total: int  # what -c will be (after llama.cpp's padding)
    ctx_per_slot: int  # cells each slot can use (n_ctx_seq)
    parallel: int
    type_k: str
    type_v: str
    kv_unified: bool = False
    flash_attn: bool = True
    ubatch: int = 512
    ngl: int | None = None
    n_cpu_moe: int = 0
    host_bytes: int = 0  # weights etc. left in host RAM (-ngl < all, --n-cpu-moe)
    weights_total_bytes: int = 0
    kv_bytes_per_token: float = 0.0  # per cell of one slot, full-attention layers
    swa_cells: int = 0
    speed_tokens_per_s: float | None = None  # bandwidth-bound estimate, not a measurement
    speed_note: str = ""
    device_kind: str = "cpu"
    valid: bool = True
    notes: list[str] = field(default_factory=list)
    server_args: list[str] = field(default_factory=list)

    @property
    def margin_bytes(self) -> int:
        return self.budget_bytes - self.total_bytes

    def to_dict(self) -> dict:
        d = asdict(self)
        d["margin_bytes"] = self.margin_bytes
        return d

    def summary(self) -> str:
        return (f"{self.ctx_per_slot} ctx/slot x {self.parallel}, {self.type_k}/{self.type_v}: "
                f"{fmt_bytes(self.total_bytes)} of {fmt_bytes(self.budget_bytes)}")


def refused_cache_types(f: ModelFacts, tk: str, tv: str, fa: bool) -> list[str]:
    """Why llama-server would refuse these cache types (none: it accepts them)."""
    why = []
    if m.CACHE_TYPES[tv][1] > 1 and not fa:
        why.append(QUANT_V_NEEDS_FA)
    if f.is_mla and tk != tv:
        why.append(MLA_KV_TYPES_DIFFER)
    return why


def resolve_fa(flash_attn: str | bool) -> bool:
    if isinstance(flash_attn, bool):
        return flash_attn
    # auto resolves to on wherever the backend supports the head sizes (CPU, CUDA, Metal do)
    return flash_attn != "off"


def estimate(facts: ModelFacts, req: PlanRequest, device: Device, calib=None) -> Estimate:
    if req.ctx_per_slot is None:
        from tierdeck.core.planner.fit import fit_context  # noqa: PLC0415 - cycle

        res = fit_context(facts, req, device, calib=calib)
        if res.best is not None:
            return res.best
        return _estimate(facts, req.replace(ctx_per_slot=max(req.min_ctx_per_slot, 256)), device, calib)
    return _estimate(facts, req, device, calib)


def _estimate(f: ModelFacts, req: PlanRequest, device: Device, calib=None) -> Estimate:
    """calib: a planner.calibrate.Calibration (real loads on this machine) or None."""
    notes: list[str] = []
    fa = resolve_fa(req.flash_attn)
    if req.flash_attn == "auto":
        notes.append("flash attention auto: assumed on (supported by CPU, CUDA and Metal backends)")
    tk, tv = req.type_k, req.type_v
    if tk == "auto":
        tk = "f16"
    if tv == "auto":
        tv = tk
    for t in (tk, tv):
        if t not in m.CACHE_TYPES:
            raise ValueError(f"unknown cache type {t!r} (one of {', '.join(m.CACHE_TYPES)})")
    refused = refused_cache_types(f, tk, tv, fa)
    notes += refused
    valid = not refused
    n_seq = max(1, req.parallel)
    ctx_slot = max(int(req.ctx_per_slot or 256), 1)
    n_ctx_req = ctx_slot if req.kv_unified else ctx_slot * n_seq
    c = m.cells(f, n_ctx_req, n_seq, req.kv_unified, req.ubatch, req.swa_full)

    try:
        kv_layers = m.kv_layer_bytes(f, c, tk, tv, fa)
    except ValueError as e:
        notes.append(str(e))
        valid = False
        kv_layers = m.kv_layer_bytes(f, c, "f16", "f16", fa)
    rec_layers = m.recurrent_layer_bytes(f, n_seq)
    if f.recurrent_layers and any(f.recurrent_layers) and m.recurrent_rows(f) == (0, 0):
        notes.append(f"recurrent state size of {f.arch} is not modelled: counted as 0")

    gpu = device.kind == "nvidia"
    start = m.gpu_layer_start(f, req.ngl) if gpu else 0
    out_on_dev = not gpu or f.n_layer >= start
    on_dev = (lambda il: il >= start) if gpu else (lambda il: True)

    # weights: repeating layers from the back, the output layer, experts kept on the host
    w_dev = 0
    for il in range(f.n_layer):
        if not on_dev(il):
            continue
        b = f.layer_bytes[il]
        if gpu and il < req.n_cpu_moe:
            b -= f.layer_expert_bytes[il]
        w_dev += b
    if gpu:
        if out_on_dev:
            w_dev += f.output_bytes
            if not any(t.name == "output.weight" for t in f.tensors):
                w_dev += f.embd_bytes  # tied output: token_embd is duplicated onto the GPU
    else:
        # one memory pool: llama.cpp maps the whole tensor range of each file (padding included)
        w_dev = f.mapped_bytes or f.weights_bytes
    host = f.weights_bytes - w_dev if gpu else 0
    if gpu and f.embd_bytes:
        notes.append(f"token_embd ({fmt_bytes(f.embd_bytes)}) stays in host RAM, as llama.cpp keeps the input layer on the CPU")
    if gpu and req.n_cpu_moe:
        notes.append(f"--n-cpu-moe {req.n_cpu_moe}: expert tensors of the first {req.n_cpu_moe} layers in host RAM")

    kv = sum(b for il, b in kv_layers if on_dev(il))
    rec = sum(b for il, b in rec_layers if on_dev(il))
    kv_host = sum(b for il, b in kv_layers if not on_dev(il)) + sum(b for il, b in rec_layers if not on_dev(il))
    host += kv_host
    comp = m.compute_bytes(f, c, req.ubatch, req.batch, fa, tk)
    out = m.output_buffer_bytes(f, n_seq)
    overhead = CUDA_CONTEXT_BYTES if gpu else 0
    budget = device.budget_bytes
    if calib is not None:
        comp, budget = _calibrated(calib, device, comp, budget, notes)
    total = w_dev + kv + rec + comp + overhead + (0 if gpu else out)
    if gpu:
        host += out

    full_layers = [lk for lk in f.kv_layers if not lk.swa]
    per_tok = 0.0
    for lk in full_layers:
        per_tok += m.row_bytes(tk, lk.n_embd_k) if lk.n_embd_k and not m.row_bytes_error(tk, lk.n_embd_k) else 0
        if not f.is_mla and lk.n_embd_v:
            per_tok += m.row_bytes(tv, lk.n_embd_v) if not m.row_bytes_error(tv, lk.n_embd_v) else 0
    if f.is_hybrid:
        notes.append(f"hybrid: {len(f.kv_layers)} of {f.n_layer_main} layers have a KV cache; "
                     f"{f.n_recurrent_layers} recurrent layers keep a fixed state per slot")
    if c.swa_cells:
        notes.append(f"sliding window {f.n_swa}: {sum(1 for lk in f.kv_layers if lk.swa)} SWA layers keep "
                     f"{c.swa_cells} cells per stream")
    if not req.kv_unified and n_seq > 1:
        notes.append(f"split KV: {n_seq} slots x {c.n_ctx_seq} cells (-c {c.n_ctx})")
    elif req.kv_unified and n_seq > 1:
        notes.append(f"unified KV: {n_seq} slots share one pool of {c.n_ctx} cells")
    if c.n_ctx_seq > f.ctx_train > 0:
        notes.append(f"context per slot {c.n_ctx_seq} exceeds the training context {f.ctx_train}")
    if gpu:
        notes.append(f"CUDA context ~{CUDA_CONTEXT_BYTES // MiB} MiB per process; "
                     f"output buffer {fmt_bytes(out)} is pinned host memory")
    if not f.known_arch:
        notes.append(f"{f.arch}: generic formula")
    notes.append("compute buffer is modelled (calibrated against llama-server logs), not measured")
    notes.extend(f.notes)

    speed, speed_note = _speed(f, device, w_dev, host, req)
    args = server_args(c, req, tk, tv, fa)
    return Estimate(
        weights_bytes=w_dev, kv_bytes=kv, recurrent_bytes=rec, compute_bytes=comp,
        output_bytes=out, overhead_bytes=overhead, total_bytes=total,
        budget_bytes=budget, fits=valid and total <= budget,
        ctx_total=c.n_ctx, ctx_per_slot=c.n_ctx_seq, parallel=n_seq, type_k=tk, type_v=tv,
        kv_unified=req.kv_unified, flash_attn=fa, ubatch=req.ubatch, ngl=req.ngl,
        n_cpu_moe=req.n_cpu_moe, host_bytes=host, weights_total_bytes=f.weights_bytes,
        kv_bytes_per_token=per_tok, swa_cells=c.swa_cells, speed_tokens_per_s=speed,
        speed_note=speed_note, device_kind=device.kind, valid=valid, notes=notes, server_args=args,
    )


def _calibrated(calib, device: Device, comp: int, budget: int, notes: list[str]) -> tuple[int, int]:
    """Compute scaled and budget lowered as real loads on this machine taught (calibrate.py)."""
    from tierdeck.core.planner.multi import DeviceShare, device_label  # noqa: PLC0415 - cycle

    share = DeviceShare(0, device_label(device, 0), device.kind, budget, compute_bytes=comp)
    calib.apply(share, device)
    if share.calibration:
        notes.append(f"calibrated: {share.calibration}")
    return share.compute_bytes, share.budget_bytes


def server_args(c: m.Cells, req: PlanRequest, tk: str, tv: str, fa: bool) -> list[str]:
    a = ["-c", str(c.n_ctx), "-np", str(c.n_seq), "-ctk", tk, "-ctv", tv,
         "-fa", "on" if fa else "off", "-ub", str(req.ubatch), "-b", str(req.batch)]
    if req.kv_unified:
        a.append("-kvu")
    a += ["-ngl", "all" if req.ngl is None else str(req.ngl)]
    if req.n_cpu_moe:
        a += ["--n-cpu-moe", str(req.n_cpu_moe)]
    return a


def _speed(f: ModelFacts, device: Device, w_dev: int, host: int, req: PlanRequest) -> tuple[float | None, str]:
    """Tokens/s if generation is bound by reading the active weights once per token."""
    if not device.bandwidth_bytes_per_s:
        return None, "no memory bandwidth known for this device"
    exp = sum(f.layer_expert_bytes)
    active = f.weights_bytes - f.embd_bytes - exp
    if f.n_expert and exp:
        active += exp * max(f.n_expert_used, 1) / f.n_expert
    if active <= 0:
        return None, "no weights"
    tps = device.bandwidth_bytes_per_s / active
    note = "estimate: memory bandwidth / active weight bytes per token"
    if f.n_expert:
        note += f" ({f.n_expert_used} of {f.n_expert} experts active)"
    if device.kind == "nvidia" and host > 0:
        note += "; part of the model is in host RAM, so real speed is lower"
    return tps, note
