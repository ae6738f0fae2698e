"""Where TierDeck keeps the user's files.

TIERDECK_HOME puts every folder under one root: tests and portable installs use it so that
they never touch the real user folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "tierdeck"


@dataclass(frozen=True)
class AppDirs:
    config: Path  # settings.json, user profiles/
    data: Path  # generated demo model, calibration
    state: Path  # server registry
    logs: Path  # server logs, app log
    cache: Path

    @property
    def profiles(self) -> Path:
        return self.config / "profiles"


def app_dirs() -> AppDirs:
    home = os.environ.get("TIERDECK_HOME")
    if home:
        root = Path(home).expanduser()
        return AppDirs(root / "config", root / "data", root / "state", root / "logs", root / "cache")
    d = platformdirs.PlatformDirs(APP, appauthor=False)
    return AppDirs(
        Path(d.user_config_dir),
        Path(d.user_data_dir),
        Path(d.user_state_dir),
        Path(d.user_log_dir),
        Path(d.user_cache_dir),
    )


def ensure_dir(path: Path) -> Path:
    """Create a folder only its owner can read: it holds logs, API keys and pids."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
