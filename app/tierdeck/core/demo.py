"""The demo model: a tiny generated GGUF so TierDeck does something real on any machine.

Profiles refer to it as `model: builtin:demo`. It is written once into the user data folder;
a second call returns the existing file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from tierdeck.core.paths import app_dirs, ensure_dir

DEMO_FILE = "tierdeck-demo.gguf"
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
