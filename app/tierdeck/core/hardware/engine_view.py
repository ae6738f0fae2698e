"""The engine's own view of the machine: `llama-server --list-devices`.

llama.cpp prints every non-CPU backend device it will use, with total and free MiB as its
backends measure them (CUDA after CUDA_VISIBLE_DEVICES / CUDA_DEVICE_ORDER are applied,
Metal's recommendedMaxWorkingSetSize, unified-memory CUDA from /proc/meminfo). That is the
reference a plan should use. The answer only changes when the binary or the environment it
reads changes, so it is asked once per (binary path, mtime, size, relevant env vars) and kept
on disk; asking again costs a backend initialisation (seconds on CUDA).

The output format (common/arg.cpp, common_print_available_devices, b11434):
    Available devices:
      CUDA0: NVIDIA GeForce RTX 3090 Ti (24563 MiB, 23011 MiB free)
    or "  (none)" when the build has no GPU backend. Backend logs (ggml_cuda_init ...) can be
interleaved on the same stream, so only lines of the device shape are taken.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs, ensure_dir

MiB = 1024**2
TIMEOUT_S = 60.0  # a CUDA build on a cold driver can take tens of seconds to initialise

# Env vars that change what llama.cpp's backends enumerate or how they measure memory.
# (the binary path is absolute, so PATH is not one of them; library paths pick the backends.)
_ENV_PREFIXES = ("CUDA_", "GGML_", "HIP_", "ROCR_", "GPU_DEVICE_ORDINAL", "ZE_", "ONEAPI_")
_ENV_NAMES = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "LLAMA_ARG_RPC")

_DEVICE = re.compile(
    r"^\s+(?P<id>[A-Za-z][\w.\-]*(?:\[[^\]]*\])?)\s*:\s*(?P<desc>.*?)\s*"
    r"\((?P<total>\d+) MiB(?:,\s*(?P<free>\d+) MiB free)?\)\s*$"
)


@dataclass(frozen=True)
class EngineDevice:
    id: str  # "CUDA0", "MTL0", "Metal", "Vulkan1", "RPC[10.0.0.2:50052]", "BLAS"
    description: str  # "NVIDIA GeForce RTX 3090 Ti", "Apple M4 Max"
    total_bytes: int
    free_bytes: int | None

    @property
    def backend(self) -> str:
        m = re.match(r"[A-Za-z]+", self.id)
        name = m.group(0) if m else self.id
        return "Metal" if name == "MTL" else name

    @property
    def ordinal(self) -> int | None:
        m = re.fullmatch(r"[A-Za-z]+(\d+)", self.id)
        return int(m.group(1)) if m else None

    @property
    def has_memory(self) -> bool:
        """BLAS / accelerator entries print 0 MiB: they compute from host RAM."""
        return self.total_bytes > 0


@dataclass
class EngineView:
    """What one llama-server binary reported, or why it could not."""

    binary: str
    devices: list[EngineDevice] = field(default_factory=list)
    listed: bool = False  # an "Available devices:" block was seen (may list none)
    error: str | None = None  # why there is no listing (old binary, crash, timeout)
    cached: bool = False

    def gpus(self, backend: str | None = None) -> list[EngineDevice]:
        return [d for d in self.devices if d.has_memory and (backend is None or d.backend == backend)]

    def to_json(self) -> dict:
        return {"binary": self.binary, "devices": [asdict(d) for d in self.devices],
                "listed": self.listed, "error": self.error}

    @classmethod
    def from_json(cls, d: dict) -> EngineView:
        return cls(d["binary"], [EngineDevice(**x) for x in d["devices"]], d["listed"], d["error"],
                   cached=True)


def parse_list_devices(text: str) -> tuple[list[EngineDevice], bool]:
    """(devices, listed). listed is False when the text has no "Available devices:" block."""
    lines = text.replace("\r\n", "\n").split("\n")
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Available devices:")
    except StopIteration:
        return [], False
    out = []
    for ln in lines[start + 1:]:
        m = _DEVICE.match(ln)
        if m is None:
            continue  # "  (none)", or a backend log line printed in between (llama.cpp #17536)
        free = m.group("free")
        out.append(EngineDevice(m.group("id"), m.group("desc"), int(m.group("total")) * MiB,
                                int(free) * MiB if free is not None else None))
    return out, True


def relevant_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(env.items())
            if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES}


def cache_key(binary: Path, env: Mapping[str, str], hardware: str = "") -> str:
    """hardware: what the caller knows of the machine (NVML uuids, RAM size), so a card
    added or removed is asked about again, not answered from the cache."""
    st = binary.stat()
    blob = json.dumps([str(binary.resolve()), st.st_mtime_ns, st.st_size, relevant_env(env),
                       hardware])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


Runner = Callable[[list[str], Mapping[str, str]], tuple[int, str]]  # -> (returncode, output)


def run_binary(argv: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    out = subprocess.run(argv, env=dict(env), capture_output=True, text=True,
                         timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    return out.returncode, out.stdout + "\n" + out.stderr


def read_engine_view(binary: Path, env: Mapping[str, str] | None = None, *,
                     runner: Runner = run_binary, cache_dir: Path | None = None,
                     refresh: bool = False, hardware: str = "") -> EngineView:
    """Ask `binary --list-devices` once per binary + environment; later calls read the cache.

    Free memory in a cached answer is as old as the answer: callers take free from the live
    source (NVML, vm_stat) and use the engine view for which devices exist and their totals.
    """
    env = os.environ if env is None else env
    try:
        key = cache_key(binary, env, hardware)
    except OSError as e:
        return EngineView(str(binary), error=f"cannot read {binary}: {e.strerror}")
    folder = cache_dir or app_dirs().cache / "engine-devices"
    path = folder / f"{key}.json"
    if not refresh:
        try:
            return EngineView.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not asked yet, or a torn write: ask the binary
    view = _ask(binary, env, runner)
    if view.error is None or view.listed:  # a timeout may pass; do not remember it
        try:
            ensure_dir(folder)
            atomic_write_text(path, json.dumps(view.to_json()))
        except OSError:
            pass  # an unwritable cache costs one more --list-devices next time, nothing else
    return view


def _ask(binary: Path, env: Mapping[str, str], runner: Runner) -> EngineView:
    try:
        code, text = runner([str(binary), "--list-devices"], env)
    except subprocess.TimeoutExpired:
        return EngineView(str(binary), error=f"--list-devices did not answer in {TIMEOUT_S:.0f} s")
    except OSError as e:
        return EngineView(str(binary), error=f"cannot run {binary}: {e.strerror or e}")
    devices, listed = parse_list_devices(text)
    if not listed:
        tail = " / ".join(ln.strip() for ln in text.strip().splitlines()[-2:])
        return EngineView(str(binary), error=f"no device listing (old binary without "
                          f"--list-devices? exit {code}: {tail[:200]})")
    return EngineView(str(binary), devices, listed=True)
