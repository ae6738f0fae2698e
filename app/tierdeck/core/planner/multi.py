"""One tier spread over several devices (GPUs, llama.cpp RPC hosts): bytes per device.

Each device holds its layers' weights (the output layer on the device llama.cpp gives it),
the KV cache and recurrent state of those layers, a compute buffer and its backend's fixed
overhead; it fits when that is within its own budget. The host keeps token_embd, layers not
offloaded, the output (logits) buffer and a small host compute buffer. Layer placement is
planner/split.py; the largest context that fits every device is fit_split().
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import memory as m
from tierdeck.core.planner import split as sp
from tierdeck.core.planner.estimate import (
    CUDA_CONTEXT_BYTES,
    PlanRequest,
    refused_cache_types,
    resolve_fa,
    server_args,
)
from tierdeck.core.units import fmt_bytes

# With the model on >1 devices, all layers offloaded and -sm layer, llama.cpp pipelines ubatches
# (GGML_SCHED_MAX_COPIES = 4): every device's compute buffer holds 4 copies of the inputs.
# Measured on rpc-server splits (tests/core/planner/test_rpc_vs_llama_server.py): device compute =
# the single-device peak + 3 more masks, the first device also + (32 n_embd + 4 n_ff + 61) B per
# token of the ubatch; host compute = 4 masks + (40 n_embd + 143) B per token. Measured: first
# device -2%..0, later devices -5%..+63% (over: a last device with one wide layer), host -5%..0.
PIPELINE_COPIES = 4
RPC_NOTE = ("llama.cpp RPC traffic is unauthenticated and unencrypted: keep rpc-server on "
            "loopback or a network you trust")


@dataclass
class DeviceShare:
    index: int  # position in llama.cpp's device list (what -ts indexes)
    name: str  # as llama.cpp's log names its buffers (CUDA0, RPC0[host:port])
    kind: str  # nvidia | rpc | apple | cpu
    budget_bytes: int
    description: str = ""  # the card's name, or the RPC endpoint
    weights_bytes: int = 0
    kv_bytes: int = 0
    recurrent_bytes: int = 0
    compute_bytes: int = 0
    overhead_bytes: int = 0
    n_layers: int = 0  # repeating layers (and the output layer) placed here
    first_layer: int | None = None
    last_layer: int | None = None
    output_layer: bool = False
    calibration: str = ""  # "calibrated on 7 loads here" when real loads adjusted it

    @property
    def total_bytes(self) -> int:
        return (self.weights_bytes + self.kv_bytes + self.recurrent_bytes + self.compute_bytes
                + self.overhead_bytes)

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.budget_bytes

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(total_bytes=self.total_bytes, fits=self.fits,
                 margin_bytes=self.budget_bytes - self.total_bytes)
        return d


@dataclass
class SplitEstimate:
    devices: list[DeviceShare]
    split_mode: str
    tensor_split: list[float]
    main_gpu: int
    ctx_total: int
    ctx_per_slot: int
    parallel: int
    type_k: str
    type_v: str
    kv_unified: bool
    flash_attn: bool
    ubatch: int
    ngl: int | None
    host_bytes: int  # host RAM: input layer, layers left on the CPU, logits, host compute
    output_bytes: int
    swa_cells: int = 0
    valid: bool = True
    notes: list[str] = field(default_factory=list)
    server_args: list[str] = field(default_factory=list)

    def _sum(self, attr: str) -> int:
        return sum(getattr(d, attr) for d in self.devices)

    weights_bytes = property(lambda self: self._sum("weights_bytes"))
    kv_bytes = property(lambda self: self._sum("kv_bytes"))
    recurrent_bytes = property(lambda self: self._sum("recurrent_bytes"))
    compute_bytes = property(lambda self: self._sum("compute_bytes"))
    overhead_bytes = property(lambda self: self._sum("overhead_bytes"))
    total_bytes = property(lambda self: self._sum("total_bytes"))
    budget_bytes = property(lambda self: self._sum("budget_bytes"))

    @property
    def fits(self) -> bool:
        return self.valid and all(d.fits for d in self.devices)

    @property
    def margin_bytes(self) -> int:
        return self.budget_bytes - self.total_bytes

    def summary(self) -> str:
        per = ", ".join(f"{d.name} {fmt_bytes(d.total_bytes)}/{fmt_bytes(d.budget_bytes)}" for d in self.devices)
        return f"{self.ctx_per_slot} ctx/slot x {self.parallel}, {self.type_k}/{self.type_v}: {per}"

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "devices"}
        d["devices"] = [x.to_dict() for x in self.devices]
        for k in ("weights_bytes", "kv_bytes", "recurrent_bytes", "compute_bytes", "overhead_bytes",
                  "total_bytes", "budget_bytes", "fits", "margin_bytes"):
            d[k] = getattr(self, k)
        return d


DEVICE_FLAGS = ("--split-mode", "--tensor-split", "--main-gpu")


def device_args(e: SplitEstimate) -> list[str]:
    """The split part of a plan's argv, for cmdline.build_command(device_args=...)."""
    a = e.server_args
    out = []
    for i, x in enumerate(a[:-1]):
        if x in DEVICE_FLAGS:
            out += [x, a[i + 1]]
    return out


def order_devices(devices: list[Device]) -> list[Device]:
    """llama.cpp's default order: RPC hosts first (in --rpc order), then local GPUs."""
    return [d for d in devices if d.kind == "rpc"] + [d for d in devices if d.kind != "rpc"]


def device_label(d: Device, i: int) -> str:
    """The name llama.cpp's log gives this device's buffers: CUDA0, RPC0[host:port], Metal, CPU.
    i: its position among the split's devices (RPC devices are numbered in --rpc order)."""
    if d.kind == "rpc":
        return f"RPC{i}[{d.name}]"
    if d.kind == "nvidia":
        if d.engine_id:  # llama-server's own name (hardware.select): its order, its backend
            return d.engine_id
        return d.name if d.name.startswith("CUDA") else f"CUDA{max(d.index, 0)}"
    return {"apple": "Metal", "cpu": "CPU"}.get(d.kind, d.name)


def estimate_split(f: ModelFacts, req: PlanRequest, devices: list[Device], split_mode: str = "layer",
                   tensor_split: list[float] | None = None, main_gpu: int = 0, calib=None) -> SplitEstimate:
    """Bytes per device for one configuration (req.ctx_per_slot must be set).

    devices: in llama.cpp's order (order_devices). tensor_split None: proportional to the budgets,
    as llama.cpp splits by free memory. calib: a planner.calibrate.Calibration or None.
    """
    if split_mode not in sp.SPLIT_MODES:
        raise ValueError(f"split mode {split_mode!r}: one of {', '.join(sp.SPLIT_MODES)}")
    if not devices:
        raise ValueError("a split needs at least one device")
    if not 0 <= main_gpu < len(devices):
        raise ValueError(f"main GPU {main_gpu}: there are {len(devices)} devices (0..{len(devices) - 1})")
    fa = resolve_fa(req.flash_attn)
    tk = "f16" if req.type_k == "auto" else req.type_k
    tv = tk if req.type_v == "auto" else req.type_v
    notes: list[str] = refused_cache_types(f, tk, tv, fa)
    valid = not notes
    ts = list(tensor_split) if tensor_split else [float(max(d.budget_bytes, 1)) for d in devices]
    if len(ts) < len(devices):
        ts += [0.0] * (len(devices) - len(ts))  # llama.cpp reads missing entries as 0
    ts = ts[:len(devices)]
    n_seq = max(1, req.parallel)
    ctx_slot = max(int(req.ctx_per_slot or 256), 1)
    c = m.cells(f, ctx_slot if req.kv_unified else ctx_slot * n_seq, n_seq, req.kv_unified, req.ubatch, req.swa_full)
    try:
        kv_layers = dict(m.kv_layer_bytes(f, c, tk, tv, fa))
    except ValueError as e:
        notes.append(str(e))
        valid = False
        kv_layers = dict(m.kv_layer_bytes(f, c, "f16", "f16", fa))
    rec_layers = dict(m.recurrent_layer_bytes(f, n_seq))

    if split_mode == "layer":
        place = sp.assign_layers(f.n_layer, req.ngl, ts)
    else:  # none and row: every offloaded layer on the main GPU
        place = [main_gpu if d != sp.CPU else sp.CPU for d in sp.assign_layers(f.n_layer, req.ngl, [1.0])]
    shares = [DeviceShare(i, device_label(d, i), d.kind, d.budget_bytes, d.name) for i, d in enumerate(devices)]
    host = 0
    for i, (d, s) in enumerate(zip(devices, shares, strict=True)):
        lw = sp.layer_weights(f, d.kind)
        for il in range(f.n_layer):
            b = lw.layers[il] - (lw.experts[il] if il < req.n_cpu_moe else 0)
            if split_mode == "row" and place[il] != sp.CPU:
                # matrices split by rows over every device, the rest stays on the main GPU
                frac = ts[i] / sum(ts)
                b = (lw.matrices[il] - (lw.experts[il] if il < req.n_cpu_moe else 0)) * frac
                if i == main_gpu:
                    b += lw.layers[il] - lw.matrices[il]
                s.weights_bytes += int(b)
            elif place[il] == i:
                s.weights_bytes += b
            if place[il] == i:
                s.n_layers += 1
                s.first_layer = il if s.first_layer is None else s.first_layer
                s.last_layer = il
                s.kv_bytes += kv_layers.get(il, 0)
                s.recurrent_bytes += rec_layers.get(il, 0)
        if place[f.n_layer] == i:
            s.output_layer = True
            s.n_layers += 1
            s.weights_bytes += lw.output + (lw.embd if lw.tied_output else 0)
    lw_host = sp.layer_weights(f, "cpu")
    for il in range(f.n_layer):
        if place[il] == sp.CPU:
            host += lw_host.layers[il] + kv_layers.get(il, 0) + rec_layers.get(il, 0)
        elif il < req.n_cpu_moe:
            host += lw_host.experts[il]
    host += lw_host.embd + lw_host.other + (lw_host.output if place[f.n_layer] == sp.CPU else 0)

    comp = m.compute_bytes(f, c, req.ubatch, req.batch, fa, tk)
    out = m.output_buffer_bytes(f, n_seq)
    used = [s for s in shares if s.n_layers or (split_mode == "row" and s.weights_bytes)]
    all_offloaded = place.count(sp.CPU) == 0
    pipeline = split_mode == "layer" and len(used) > 1 and all_offloaded
    mask = m.mask_bytes(f, c, req.ubatch, req.batch, fa)
    n_t = min(req.ubatch, req.batch, c.n_ctx)
    for d, s in zip(devices, shares, strict=True):
        if s in used:
            s.compute_bytes = comp
            if pipeline:
                s.compute_bytes += (PIPELINE_COPIES - 1) * mask
                if s is used[0]:
                    s.compute_bytes += n_t * (32 * f.n_embd + 4 * max(f.n_ff or [0]) + 61)
        # every device in the list gets a backend (a CUDA context) even with no layers on it
        s.overhead_bytes = CUDA_CONTEXT_BYTES if d.kind == "nvidia" and (s in used or split_mode != "none"
                                                                           or s.index == main_gpu) else 0
        if calib is not None:
            calib.apply(s, d)
    host += out
    if pipeline:
        host += PIPELINE_COPIES * mask + n_t * (40 * f.n_embd + 143)
        notes.append(f"pipeline parallelism: llama.cpp keeps {PIPELINE_COPIES} copies of each ubatch's "
                     "inputs (the attention mask) per device")
    args = server_args(c, req, tk, tv, fa)
    if len(devices) > 1 or split_mode != "layer":
        args += ["--split-mode", split_mode]
    if len(devices) > 1 and split_mode != "none":
        args += ["--tensor-split", sp.fmt_split(ts)]
    if split_mode != "layer" or main_gpu:
        args += ["--main-gpu", str(main_gpu)]
    rpc = [d.name for d in devices if d.kind == "rpc"]
    if rpc:
        args += ["--rpc", ",".join(rpc)]
        notes.append(RPC_NOTE)
    if split_mode == "row":
        notes.append("row split: matrix rows divided by the split, KV and compute on the main GPU "
                     "(approximate: CUDA rounds each device's rows)")
    if any(d.kind == "rpc" for d in devices):
        notes.append("an RPC host's backend overhead (e.g. its CUDA context) is paid on that host, "
                     "outside the memory it offers")
    notes.append("compute buffer per device is modelled (calibrated against llama-server logs), not measured")
    notes.extend(f.notes)
    return SplitEstimate(
        devices=shares, split_mode=split_mode, tensor_split=ts, main_gpu=main_gpu, ctx_total=c.n_ctx,
        ctx_per_slot=c.n_ctx_seq, parallel=n_seq, type_k=tk, type_v=tv, kv_unified=req.kv_unified,
        flash_attn=fa, ubatch=req.ubatch, ngl=req.ngl, host_bytes=host, output_bytes=out,
        swa_cells=c.swa_cells, valid=valid, notes=notes, server_args=args,
    )
