"""User settings shared by the CLI and the GUI (one JSON file in the config folder)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs

QUIT_CHOICES = ("ask", "stop", "keep")


@dataclass
class Settings:
    llama_server: str | None = None  # explicit binary; else LLAMA_SERVER env, PATH, ...
    models_dir: str | None = None  # where "Add model" looks first
    reserve_mib: int = 1024  # memory a plan leaves free on every device
    on_quit: str = "ask"  # what quitting the app does with running servers
    close_to_tray: bool = True
    sample_interval_s: float = 1.0
    last_profile: str | None = None
    gateway_keep_running: bool = False  # quitting the window leaves the gateway up
    extra: dict = field(default_factory=dict)  # keys written by newer versions, kept as-is

    @classmethod
    def path(cls) -> Path:
        return app_dirs().config / "settings.json"

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or cls.path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            raise SettingsError(f"{path}: cannot read settings: {e}") from e
        if not isinstance(raw, dict):
            raise SettingsError(f"{path}: settings must be a JSON object")
        known = {f.name for f in fields(cls)} - {"extra"}
        for k in sorted(known & raw.keys()):
            why = _wrong(k, raw[k])
            if why:
                raise SettingsError(f"{path}: {k} {why} (found {raw[k]!r})")
        s = cls(**{k: v for k, v in raw.items() if k in known})
        s.extra = {k: v for k, v in raw.items() if k not in known}
        return s

    def save(self, path: Path | None = None) -> None:
        data = asdict(self)
        data.update(data.pop("extra"))
        atomic_write_text(path or self.path(), json.dumps(data, indent=2) + "\n")


class SettingsError(Exception):
    pass


_PATHS = ("llama_server", "models_dir", "last_profile")
_FLAGS = ("close_to_tray", "gateway_keep_running")


def _wrong(key: str, v: object) -> str | None:
    """Why a known key's value cannot be used, or None. A wrong type is refused here, not
    found later as a crash (or as a string repeated a million times for reserve_mib)."""
    if key in _PATHS:
        return None if v is None or isinstance(v, str) else "must be a string or null"
    if key in _FLAGS:
        return None if isinstance(v, bool) else "must be true or false"
    if key == "reserve_mib":
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
        return None if ok else "must be a whole number of MiB, 0 or more"
    if key == "sample_interval_s":
        ok = isinstance(v, int | float) and not isinstance(v, bool) and 0.2 <= v <= 60
        return None if ok else "must be a number of seconds from 0.2 to 60"
    if key == "on_quit":
        return None if v in QUIT_CHOICES else f"must be one of {', '.join(QUIT_CHOICES)}"
    return None
