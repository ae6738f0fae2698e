"""Which NVIDIA devices a CUDA program sees, and in what order, from the environment alone.

Used when llama-server's own listing is missing (an old binary, a timeout): NVML lists every
GPU in PCI bus order, but the CUDA runtime inside llama-server
- orders them FASTEST_FIRST unless CUDA_DEVICE_ORDER=PCI_BUS_ID. The runtime's notion of
  "fastest" is not published; we rank by compute capability, then SM count, ties in PCI order,
  and say that this is an approximation (the engine listing, when present, replaces it);
- keeps only the entries of CUDA_VISIBLE_DEVICES, in the order given: indices into that
  ordered list, GPU UUIDs (a unique prefix is enough), or MIG instances ("MIG-<uuid>" or the
  older "MIG-GPU-<uuid>/<gi>/<ci>"). The list stops at the first entry that matches no device
  or repeats one, as the CUDA runtime does; an empty value hides every GPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CudaCandidate:
    """What cuda_view needs to know about one NVML device (a GPU or a MIG slice)."""

    key: int  # caller's handle for the device (position in its list)
    uuid: str | None
    pci_bus_id: str | None
    compute_capability: tuple[int, int] | None = None
    sm_count: int | None = None
    mig_parent: int | None = None  # key of the parent GPU for a MIG slice
    mig_gi: int | None = None  # the slice's GPU instance id


@dataclass
class CudaView:
    order: list[int]  # candidate keys as CUDA numbers them: order[i] is CUDA device i
    rule: str  # how the order and the selection were decided, for `tierdeck detect`
    hidden: list[int]  # keys the CUDA runtime will not show


def _pci_key(c: CudaCandidate) -> str:
    # "00000000:65:00.0" and "0000:65:00.0" name the same slot; compare on the last part.
    return (c.pci_bus_id or "").lower().split(":", 1)[-1] if c.pci_bus_id else f"~{c.key:08d}"


def _fastest_first_key(c: CudaCandidate) -> tuple:
    cc = c.compute_capability or (0, 0)
    return (-cc[0], -cc[1], -(c.sm_count or 0), _pci_key(c))


def cuda_view(cands: Sequence[CudaCandidate], env: Mapping[str, str]) -> CudaView:
    gpus = [c for c in cands if c.mig_parent is None]
    migs = [c for c in cands if c.mig_parent is not None]
    order_name = (env.get("CUDA_DEVICE_ORDER") or "FASTEST_FIRST").strip().upper()
    if order_name == "PCI_BUS_ID":
        ordered = sorted(gpus, key=_pci_key)
        rule = "CUDA_DEVICE_ORDER=PCI_BUS_ID"
    else:
        ordered = sorted(gpus, key=_fastest_first_key)
        rule = ("CUDA default order FASTEST_FIRST (approximated: compute capability, then SM "
                "count, then PCI bus)")
    # A GPU in MIG mode is not a CUDA device itself: its slices are, when named.
    mig_parents = {m.mig_parent for m in migs}
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        whole = [c for c in ordered if c.key not in mig_parents]
        # Without CUDA_VISIBLE_DEVICES, CUDA enumerates the first MIG slice of each MIG GPU.
        firsts = [next(m for m in migs if m.mig_parent == p.key) for p in ordered
                  if p.key in mig_parents]
        chosen = whole + firsts
        return CudaView([c.key for c in chosen], rule + "; CUDA_VISIBLE_DEVICES unset",
                        [c.key for c in cands if c not in chosen])
    chosen: list[CudaCandidate] = []
    stop = None
    for raw in visible.split(","):
        entry = raw.strip()
        found = _match(entry, ordered, migs)
        if found is None or found in chosen or found.key in mig_parents:
            stop = entry
            break
        chosen.append(found)
    rule += f"; CUDA_VISIBLE_DEVICES={visible!r}"
    if stop is not None and visible.strip():
        rule += f" (stops at {stop!r}: no such device, a repeat, or a GPU in MIG mode)"
    return CudaView([c.key for c in chosen], rule, [c.key for c in cands if c not in chosen])


def _match(entry: str, ordered: list[CudaCandidate], migs: list[CudaCandidate]) -> CudaCandidate | None:
    if not entry:
        return None
    if entry.lstrip("-").isdigit():
        i = int(entry)
        return ordered[i] if 0 <= i < len(ordered) else None
    low = entry.lower()
    if low.startswith("mig-"):
        return _by_uuid(low, migs) or _by_old_mig_id(low, ordered, migs)
    if low.startswith("gpu-"):
        return _by_uuid(low, ordered)
    return None


def _by_uuid(prefix: str, pool: list[CudaCandidate]) -> CudaCandidate | None:
    hits = [c for c in pool if c.uuid and c.uuid.lower().startswith(prefix)]
    return hits[0] if len(hits) == 1 else None  # an ambiguous prefix names nothing


def _by_old_mig_id(low: str, ordered: list[CudaCandidate], migs: list[CudaCandidate]) -> CudaCandidate | None:
    # "MIG-GPU-<parent uuid>/<gi>/<ci>" (CUDA 11.0-11.x): the slice by its place in the parent.
    parts = low[4:].split("/")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    parent = _by_uuid(parts[0], ordered)
    if parent is None:
        return None
    gi = int(parts[1])
    return next((m for m in migs if m.mig_parent == parent.key and m.mig_gi == gi), None)
