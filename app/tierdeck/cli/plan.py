"""`tierdeck plan` (what a model needs on a device, and what fits) and `tierdeck inspect`."""

from __future__ import annotations

import json
from collections import defaultdict

from tierdeck.cli import CliError, user_settings
from tierdeck.core.gguf import GGUFError, ModelFacts, read_facts
from tierdeck.core.hardware.device import Device
from tierdeck.core.planner import Estimate, PlanRequest, estimate, fit_context
from tierdeck.core.planner.memory import CACHE_TYPES
from tierdeck.core.units import fmt_bytes, parse_size


def register(sub) -> None:
    p = sub.add_parser("plan", help="memory a model needs on a device; the largest context that fits")
    p.add_argument("model", help="GGUF file (any part of a split model)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--device", default=None,
                   help="device index from `tierdeck detect`, or several: 0,1 (one tier split across them)")
    g.add_argument("--budget", default=None,
                   help="plan against this many bytes instead, e.g. 24GiB; a comma list plans one tier "
                   "across that many devices: 24GiB,12GiB")
    p.add_argument("--kind", choices=["nvidia", "apple", "cpu"], default="nvidia",
                   help="with --budget: what kind of memory it is (default nvidia)")
    p.add_argument("--rpc", default=None, metavar="HOST:PORT=SIZE,...",
                   help="llama.cpp rpc-server hosts as extra devices (RPC traffic is unauthenticated: "
                   "loopback or a trusted network only)")
    p.add_argument("--split-mode", "-sm", choices=["layer", "row", "none"], default="layer",
                   help="how llama.cpp spreads the model over several devices (default layer)")
    p.add_argument("--tensor-split", "-ts", default=None,
                   help="proportions per device, e.g. 3,1 (default: the planner balances the layers)")
    p.add_argument("--main-gpu", "-mg", type=int, default=0, help="with -sm row/none: the main device")
    p.add_argument("--no-calibration", action="store_true",
                   help="plan from the model alone, ignoring what real loads on this machine taught")
    p.add_argument("--ctx", default="auto",
                   help="context PER SLOT (tokens) or 'auto' for the largest that fits (default)")
    p.add_argument("--ctx-total", type=int, default=None,
                   help="total context as llama-server's -c (split across slots unless --kv-unified)")
    p.add_argument("--min-ctx", type=int, default=0, help="with --ctx auto: at least this much per slot")
    p.add_argument("--parallel", "-np", type=int, default=1, help="slots (llama-server -np)")
    p.add_argument("--cache-type-k", "-ctk", default="f16", help=f"{', '.join(CACHE_TYPES)} or auto")
    p.add_argument("--cache-type-v", "-ctv", default=None, help="default: same as --cache-type-k")
    p.add_argument("--flash-attn", "-fa", choices=["on", "off", "auto"], default="auto")
    p.add_argument("--ubatch", "-ub", type=int, default=512)
    p.add_argument("--batch", "-b", type=int, default=2048)
    p.add_argument("--ngl", default=None, help="layers on the GPU (number or 'all', default all)")
    p.add_argument("--n-cpu-moe", type=int, default=0, help="keep experts of the first N layers in RAM")
    p.add_argument("--kv-unified", "-kvu", action="store_true", help="one KV pool shared by all slots")
    p.add_argument("--swa-full", action="store_true", help="full-size cache for sliding-window layers")
    p.add_argument("--reserve-mib", type=int, default=None, help="with --device: memory to leave free")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_plan)

    i = sub.add_parser("inspect", help="show what a GGUF says about the model (header only)")
    i.add_argument("model", help="GGUF file (any part of a split model)")
    i.add_argument("--tensors", action="store_true", help="list every tensor")
    i.add_argument("--json", action="store_true", help="machine-readable output (includes tensors)")
    i.set_defaults(func=run_inspect)


def _facts(path: str) -> ModelFacts:
    try:
        return read_facts(path)
    except GGUFError as e:
        raise CliError(str(e)) from None


def _devices(args) -> list[Device]:
    """Every device the plan spreads over (one for a plain plan)."""
    from tierdeck.cli.plan_multi import budget_devices, rpc_devices  # noqa: PLC0415

    rpc = rpc_devices(args.rpc) if args.rpc else []
    if args.budget is not None and "," in args.budget:
        return rpc + budget_devices(args.budget, args.kind)
    if args.device is not None and "," in str(args.device):
        det = _detect(args)
        try:
            return rpc + [det.by_index(int(i)) for i in str(args.device).split(",")]
        except (LookupError, ValueError) as e:
            raise CliError(f"--device: {e}") from None
    if args.budget is None and args.device is None:
        # The supervisor's rule (multi_fit.tier_devices): a plain tier spreads over every GPU.
        from tierdeck.core.planner.multi_fit import tier_devices  # noqa: PLC0415
        from tierdeck.core.profiles.schema import Tier  # noqa: PLC0415

        det = _detect(args)
        gpus = tier_devices(Tier(name="plan"), det.devices)
        if len(gpus) > 1:
            return rpc + gpus
        one = _device(args, det)  # one detection: reading the hardware again gives nothing new
    else:
        one = _device(args)
    return rpc + [one] if rpc and one.is_gpu else (rpc or [one])


def _detect(args):
    from tierdeck.core.hardware import detect_devices  # noqa: PLC0415 - NVML only when needed
    reserve = args.reserve_mib if args.reserve_mib is not None else user_settings().reserve_mib
    return detect_devices(reserve)


def _device(args, det=None) -> Device:
    """det: the detection already made, if any (else _device detects when it needs to)."""
    if args.budget is not None:
        try:
            b = parse_size(args.budget)
        except ValueError as e:
            raise CliError(f"--budget: {e}") from None
        return Device(index=-1, kind=args.kind, name="--budget", total_bytes=b,
                      free_bytes=b, budget_bytes=b, reserve_bytes=0, source="--budget")
    if det is None:
        det = _detect(args)
    if args.device is not None:
        for d in det.devices:
            if str(d.index) == str(args.device):
                return d
        raise CliError(f"no device {args.device} (see `tierdeck detect`)")
    from tierdeck.core.servers.tierplan import tier_device  # noqa: PLC0415

    return tier_device(det)  # the rule the supervisor and the plan view use


def _request(args) -> PlanRequest:
    tk = args.cache_type_k
    tv = args.cache_type_v or tk
    for name, t in (("--cache-type-k", tk), ("--cache-type-v", tv)):
        if t != "auto" and t not in CACHE_TYPES:
            raise CliError(f"{name}: unknown cache type {t!r} (one of {', '.join(CACHE_TYPES)}, auto)")
    ngl = None
    if args.ngl not in (None, "all", "auto"):
        try:
            ngl = int(args.ngl)
        except ValueError:
            raise CliError(f"--ngl: expected a number or 'all', got {args.ngl!r}") from None
    if args.parallel < 1:
        raise CliError("--parallel must be at least 1")
    ctx = None
    if args.ctx_total is not None:
        ctx = args.ctx_total if args.kv_unified else max(1, args.ctx_total // args.parallel)
    elif args.ctx != "auto":
        try:
            ctx = int(args.ctx)
        except ValueError:
            raise CliError(f"--ctx: expected tokens per slot or 'auto', got {args.ctx!r}") from None
        if ctx < 1:
            raise CliError("--ctx must be positive")
    return PlanRequest(
        ctx_per_slot=ctx, parallel=args.parallel, kv_unified=args.kv_unified, type_k=tk, type_v=tv,
        flash_attn=args.flash_attn, ubatch=args.ubatch, batch=args.batch, ngl=ngl,
        n_cpu_moe=args.n_cpu_moe, min_ctx_per_slot=args.min_ctx, swa_full=args.swa_full,
    )


def run_plan(args) -> int:
    f = _facts(args.model)
    req = _request(args)
    calib = None
    if not args.no_calibration:
        from tierdeck.core.planner.calibrate import load_calibration  # noqa: PLC0415

        calib = load_calibration()
        calib = None if calib.empty else calib
    devs = _devices(args)
    if len(devs) > 1 or args.tensor_split or args.split_mode != "layer" or args.rpc:
        from tierdeck.cli.plan_multi import plan_split, print_split  # noqa: PLC0415

        e, sfr = plan_split(f, req, devs, args, calib)
        return print_split(f, e, sfr, args.json, calib)
    dev = devs[0]
    try:
        if req.ctx_per_slot is None or req.type_k == "auto":
            fr = fit_context(f, req, dev, calib=calib)
            est = fr.best
            if est is None:
                want = req.replace(ctx_per_slot=req.ctx_per_slot or max(req.min_ctx_per_slot, 256),
                                   type_k="f16" if req.type_k == "auto" else req.type_k,
                                   type_v="f16" if req.type_v == "auto" else req.type_v)
                est = estimate(f, want, dev, calib)
        else:
            fr = None
            est = estimate(f, req, dev, calib)
            if not est.fits:
                fr = fit_context(f, req, dev, calib=calib)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.json:
        d = est.to_dict()
        d["model"] = f.to_dict(tensors=False)
        d["device"] = {"index": dev.index, "kind": dev.kind, "name": dev.name,
                       "budget_bytes": dev.budget_bytes}
        d["calibration"] = calib.to_dict() if calib is not None else None
        if fr is not None:
            d["explanation"] = fr.explanation
            d["shortfall_bytes"] = fr.shortfall_bytes
            d["alternatives"] = [a.to_dict() for a in fr.alternatives]
        print(json.dumps(d, indent=2))
    else:
        print(render_plan(f, est, dev, fr))
    return 0 if est.fits else 1


def _params(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M"


def _row(rows: list, name: str, b: int, note: str = "") -> None:
    rows.append((name, fmt_bytes(b), note))


def render_plan(f: ModelFacts, e: Estimate, dev: Device, fr=None) -> str:
    lines = [
        f"model    {f.name or f.path}  ({f.arch}, {f.n_layer} layers, {f.file_type or '?'}, "
        f"{_params(f.param_count)} params, {fmt_bytes(f.weights_bytes)})",
        f"device   {dev.name} ({dev.kind}), budget {fmt_bytes(dev.budget_bytes)}",
        f"settings llama-server {' '.join(e.server_args)}",
        f"context  {e.ctx_per_slot} tokens per slot x {e.parallel} slot(s)"
        + (" sharing one unified pool" if e.kv_unified and e.parallel > 1 else "")
        + f" (-c {e.ctx_total})",
        "",
    ]
    rows: list[tuple[str, str, str]] = []
    n_dev_layers = f.n_layer if e.ngl is None else min(f.n_layer, max(0, e.ngl))
    wnote = f"{n_dev_layers}/{f.n_layer} layers on the device" if dev.kind == "nvidia" else "all weights (one memory pool)"
    if e.host_bytes:
        wnote += f"; {fmt_bytes(e.host_bytes)} in host RAM"
    _row(rows, "weights", e.weights_bytes, wnote)
    kvn = f"{len(f.kv_layers)} layers, {fmt_bytes(e.kv_bytes_per_token)}/token ({e.type_k}/{e.type_v})"
    if e.swa_cells:
        kvn += f", SWA layers {e.swa_cells} cells"
    _row(rows, "KV cache", e.kv_bytes, kvn)
    if e.recurrent_bytes or f.is_hybrid:
        _row(rows, "recurrent", e.recurrent_bytes, f"{f.n_recurrent_layers} layers x {e.parallel} slot(s), f32")
    _row(rows, "compute", e.compute_bytes, f"ubatch {e.ubatch}, flash attention {'on' if e.flash_attn else 'off'} (modelled)")
    if dev.kind != "nvidia":
        _row(rows, "output", e.output_bytes, "logits buffer")
    _row(rows, "overhead", e.overhead_bytes, "CUDA context" if dev.kind == "nvidia" else "")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for r in rows:
        lines.append(f"  {r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}".rstrip())
    lines.append(f"  {'-' * (w0 + w1 + 2)}")
    verdict = ("FITS" if e.fits else "DOES NOT FIT") + (
        f", {fmt_bytes(abs(e.margin_bytes))} {'left' if e.margin_bytes >= 0 else 'over'}")
    lines.append(f"  {'total':<{w0}}  {fmt_bytes(e.total_bytes):>{w1}}  of {fmt_bytes(e.budget_bytes)}: {verdict}")
    if e.speed_tokens_per_s:
        lines.append(f"\nspeed    ~{e.speed_tokens_per_s:.0f} tokens/s ({e.speed_note})")
    if fr is not None and not e.fits:
        lines.append("")
        lines.extend(fr.explanation.splitlines())
    if e.notes:
        lines.append("")
        lines.extend(f"note: {n}" for n in e.notes)
    return "\n".join(lines)


def run_inspect(args) -> int:
    f = _facts(args.model)
    if args.json:
        print(json.dumps(f.to_dict(tensors=True), indent=2))
        return 0
    print(render_facts(f, args.tensors))
    return 0


def render_facts(f: ModelFacts, tensors: bool = False) -> str:
    def rng(v: list[int]) -> str:
        return str(v[0]) if len(set(v)) == 1 else f"per layer {v}"

    kv = [
        ("file", f.path + (f" (+{len(f.files) - 1} split parts)" if len(f.files) > 1 else "")),
        ("name", f.name or "-"),
        ("architecture", f.arch + ("" if f.known_arch else " (generic formula)")),
        ("size label", f.size_label or "-"),
        ("file type", f.file_type or "-"),
        ("parameters", f"{f.param_count:,}"),
        ("weights", fmt_bytes(f.weights_bytes)),
        ("training context", str(f.ctx_train)),
        ("layers", f"{f.n_layer}" + (f" ({f.n_layer_nextn} MTP/nextn)" if f.n_layer_nextn else "")),
        ("embedding", str(f.n_embd)),
        ("heads", rng(f.n_head)),
        ("KV heads", rng(f.n_head_kv)),
        ("key / value length", f"{f.key_length} / {f.value_length}"),
        ("KV layers", f"{len(f.kv_layers)}, {f.kv_elements_per_token()} elements per token"),
        ("vocabulary", str(f.vocab_size)),
    ]
    if f.n_swa:
        kv.append(("sliding window", f"{f.n_swa} on {sum(f.swa_layers)} layers ({f.swa_source})"))
    if f.is_mla:
        kv.append(("MLA", f"latent K {f.key_length}, kv_lora_rank {f.kv_lora_rank}, no V cache"))
    if any(f.recurrent_layers):
        kv.append(("recurrent layers", f"{f.n_recurrent_layers} (ssm conv {f.ssm_conv_kernel}, inner {f.ssm_inner_size}, "
                                       f"state {f.ssm_state_size}, groups {f.ssm_group_count})"))
    if f.n_expert:
        kv.append(("experts", f"{f.n_expert_used} of {f.n_expert} used, {f.n_expert_shared} shared, "
                              f"expert ffn {f.expert_ff_length}"))
    w = max(len(k) for k, _ in kv)
    lines = [f"{k:<{w}}  {v}" for k, v in kv]
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in f.tensors:
        by_type[t.ggml_type][0] += 1
        by_type[t.ggml_type][1] += t.n_bytes
    lines.append(f"{'tensors':<{w}}  {len(f.tensors)}: " + ", ".join(
        f"{k} x{n} ({fmt_bytes(b)})" for k, (n, b) in sorted(by_type.items(), key=lambda x: -x[1][1])))
    if tensors:
        lines.append("")
        for t in f.tensors:
            lines.append(f"  {t.name:<40} {str(t.shape):<24} {t.ggml_type:<6} {fmt_bytes(t.n_bytes)}")
    lines.extend(f"note: {n}" for n in f.notes)
    return "\n".join(lines)
