"""Files TierDeck ships: built-in profiles, icons and, in the standalone app, the demo model.

From a source checkout they are the repository's top-level `profiles/` and `resources/`;
an installed wheel or a frozen bundle carries copies under `tierdeck/_data/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parents[1]  # app/tierdeck
_REPO = _PKG.parents[1]


def _first(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[-1]


def _bundled(name: str) -> list[Path]:
    found = [_PKG / "_data" / name]
    meipass = getattr(sys, "_MEIPASS", None)  # PyInstaller one-dir/one-file bundle
    if meipass:
        found.insert(0, Path(meipass) / "tierdeck" / "_data" / name)
    return found


def builtin_profiles_dir() -> Path:
    return _first(_REPO / "profiles", *_bundled("profiles"))


def resources_dir() -> Path:
    return _first(_REPO / "resources", *_bundled("resources"))


def resource_path(name: str) -> Path:
    return resources_dir() / name


def bundled_model(name: str) -> Path | None:
    """A model file the standalone app carries (the demo's SmolLM2), or None."""
    for folder in _bundled("models"):
        if (folder / name).is_file():
            return folder / name
    return None


def chat_template_path(name: str) -> Path:
    """A chat template TierDeck ships, by name (`builtin:NAME` in a profile)."""
    return resources_dir() / "chat-templates" / f"{name}.jinja"
