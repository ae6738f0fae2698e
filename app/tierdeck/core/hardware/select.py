"""Which NVIDIA devices llama-server will use, under which name, with how much memory.

The engine's listing (engine_view.py) is the reference: its CUDA devices are matched to
NVML's by name, trying first the NVML device the CUDA ordering rules predict for that CUDA
number (two identical cards are then told apart by order, the way CUDA numbers them). A
matched device plans on the engine's total and NVML's live free memory (the listing is
cached, so its free figure is as old as the cache). NVML devices the engine does not list are
not planned for, with a note saying why.

Without a listing (no binary, an old binary, a timeout), CUDA_VISIBLE_DEVICES and
CUDA_DEVICE_ORDER are applied to NVML's devices (cuda_env.py), and the note says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from tierdeck.core.hardware.cuda_env import CudaCandidate, cuda_view
from tierdeck.core.hardware.device import Device, budget
from tierdeck.core.hardware.engine_view import EngineDevice, EngineView

MiB = 1024**2
_GPU_BACKENDS = ("CUDA", "Vulkan", "ROCm", "SYCL", "OpenCL", "MUSA", "CANN")


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def candidates(devs: list[Device], caps: Mapping[int, tuple[int, int] | None]) -> list[CudaCandidate]:
    """Keys 0..len(devs)-1 are the devices; a GPU in MIG mode (not a device itself, only its
    slices are) gets a key after them, so CUDA's numbering can still count it."""
    def cc(d: Device):
        return caps.get(d.nvml_index) if d.nvml_index is not None else None

    parents: dict[str, int] = {}
    out = []
    for k, d in enumerate(devs):
        if d.mig_parent_uuid is None:
            out.append(CudaCandidate(k, d.uuid, d.pci_bus_id, cc(d)))
            continue
        if d.mig_parent_uuid not in parents:
            parents[d.mig_parent_uuid] = len(devs) + len(parents)
            out.append(CudaCandidate(parents[d.mig_parent_uuid], d.mig_parent_uuid, d.pci_bus_id, cc(d)))
        gi = d.how.get("mig_gpu_instance")
        out.append(CudaCandidate(k, d.uuid, None, cc(d), mig_parent=parents[d.mig_parent_uuid],
                                 mig_gi=int(gi) if gi and gi.isdigit() else None))
    return out


def select_nvidia(devs: list[Device], view: EngineView | None, env: Mapping[str, str],
                  caps: Mapping[int, tuple[int, int] | None] | None = None,
                  reserve_bytes: int = 0) -> tuple[list[Device], list[str]]:
    """NVML devices as llama-server will see them, in its order, with engine_id set."""
    caps = caps or {}
    predicted = cuda_view(candidates(devs, caps), env)
    if view is None or not view.listed:
        why = view.error if view is not None else "no llama-server found"
        chosen = [devs[k] for k in predicted.order]
        for n, d in enumerate(chosen):
            d.engine_id = f"CUDA{n}"
            d.how["engine_id"] = predicted.rule
        notes = [f"llama-server's own device list unavailable ({why}); planned with the CUDA "
                 f"rules instead: {predicted.rule}"] if devs else []
        notes += [_hidden_note(devs[k], "CUDA_VISIBLE_DEVICES / CUDA ordering")
                  for k in predicted.hidden if k < len(devs)]
        return chosen, notes
    gpus = [e for e in view.gpus() if e.backend in _GPU_BACKENDS]
    used: set[int] = set()
    out: list[Device] = []
    notes: list[str] = []
    n_cuda = 0  # the n-th CUDA device is predicted.order[n] (identical listings are not unique)
    for e in gpus:
        guess = None
        if e.backend == "CUDA":
            guess = predicted.order[n_cuda] if n_cuda < len(predicted.order) else None
            n_cuda += 1
        k = _match(e, devs, used, guess)
        if k is None and e.backend != "CUDA" and _match(e, devs, set(), None) is not None:
            # A build with CUDA and Vulkan lists one card twice; its memory is counted once.
            notes.append(f"{e.id} ({e.description}) is a card already listed by another backend")
            continue
        if k is None:
            out.append(engine_only_device(e, reserve_bytes))
            notes.append(f"{e.id} ({e.description}) has no NVML reading: planned on the "
                         f"engine's own figures")
            continue
        used.add(k)
        out.append(_apply(devs[k], e))
    for k, d in enumerate(devs):
        if k not in used:
            notes.append(_hidden_note(d, f"{view.binary} --list-devices"))
    if devs and not gpus:
        notes.append(f"{view.binary} lists no GPU (a CPU-only build?): it will run on the CPU")
    return out, notes


def _match(e: EngineDevice, devs: list[Device], used: set[int], guess: int | None) -> int | None:
    name = _norm(e.description)
    if guess is not None and guess not in used and _norm(devs[guess].name) == name:
        return guess
    same = [k for k, d in enumerate(devs) if k not in used and _norm(d.name) == name]
    if same:
        return same[0]
    # A Vulkan/ROCm description may add or drop the vendor prefix; compare the model part.
    loose = [k for k, d in enumerate(devs) if k not in used
             and (_norm(d.name).endswith(name) or name.endswith(_norm(d.name)))]
    return loose[0] if loose else None


def _apply(d: Device, e: EngineDevice) -> Device:
    d.engine_id = e.id
    d.how["engine_id"] = f"llama-server --list-devices: {e.id} ({e.description}), matched to NVML by name and CUDA order"
    if e.total_bytes and abs(e.total_bytes - d.total_bytes) > 64 * MiB and not d.unified:
        d.notes.append(f"engine total {e.total_bytes // MiB} MiB vs NVML {d.total_bytes // MiB} MiB")
    d.total_bytes = e.total_bytes or d.total_bytes
    d.how["total_bytes"] = f"llama-server --list-devices ({e.id}: {e.total_bytes // MiB} MiB)"
    d.free_bytes = min(d.free_bytes, d.total_bytes)
    d.budget_bytes = budget(d.free_bytes, d.reserve_bytes)
    return d


def engine_only_device(e: EngineDevice, reserve: int) -> Device:
    """A GPU known only from llama-server's listing (no NVML for it, or another backend)."""
    free = e.free_bytes if e.free_bytes is not None else e.total_bytes
    kind = "nvidia" if e.backend == "CUDA" else "gpu"
    return Device(index=0, kind=kind, name=e.description, total_bytes=e.total_bytes,
                  free_bytes=free, budget_bytes=budget(free, reserve), reserve_bytes=reserve,
                  source="llama-server --list-devices", engine_id=e.id,
                  how={"total_bytes": f"llama-server --list-devices ({e.id})",
                       "free_bytes": "llama-server --list-devices (as old as its cached answer)"})


def _hidden_note(d: Device, by: str) -> str:
    return f"NVML GPU {d.nvml_index} ({d.name}) is not visible to llama-server ({by}): not planned for"
