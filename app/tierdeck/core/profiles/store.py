"""Finding, listing and saving profiles.

Built-in profiles ship with TierDeck (`builtin_profiles_dir()`); the user's live in
`app_dirs().profiles`. A user file with the same profile name overrides the built-in one
(saving an edited built-in profile writes the user copy, never the shipped file).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs
from tierdeck.core.profiles.errors import Issue, ProfileError
from tierdeck.core.profiles.loader import _yaml, load_profile_file, parse_text, profile_from_text
from tierdeck.core.profiles.schema import Profile, Tier
from tierdeck.core.resources import builtin_profiles_dir

log = logging.getLogger(__name__)


@dataclass
class ProfileEntry:
    """One profile file as listed: loaded, or the error that stops it from loading."""

    name: str
    path: Path
    source: str  # "builtin" | "user"
    profile: Profile | None
    error: ProfileError | None
    overrides: Path | None = None  # the built-in file this user file hides

    @property
    def ok(self) -> bool:
        return self.error is None


def _models_dir() -> Path | None:
    from tierdeck.core.settings import Settings, SettingsError  # noqa: PLC0415

    try:
        d = Settings.load().models_dir
    except SettingsError as e:
        log.warning("%s; models_dir from that file is not used", e)
        return None
    return Path(d).expanduser() if d else None


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def list_profiles(include_builtin: bool = True, include_user: bool = True) -> list[ProfileEntry]:
    """All profiles by name; a user profile replaces a built-in one of the same name."""
    models_dir = _models_dir()
    found: dict[str, ProfileEntry] = {}
    sources = []
    if include_builtin:
        sources.append(("builtin", builtin_profiles_dir()))
    if include_user:
        sources.append(("user", app_dirs().profiles))
    for source, folder in sources:
        for path in _files(folder):
            try:
                prof = load_profile_file(path, source, models_dir)
                entry = ProfileEntry(prof.name, path, source, prof, None)
            except ProfileError as e:
                entry = ProfileEntry(path.stem, path, source, None, e)
            old = found.get(entry.name)
            if old is not None and old.source == "builtin" and source == "user":
                entry.overrides = old.path
            found[entry.name] = entry
    return sorted(found.values(), key=lambda e: e.name)


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (user first, then built-in) or by the path of a YAML file."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml") or p.is_file():
        return load_profile_file(p, _source_of(p), _models_dir())
    name = str(name_or_path)
    entries = list_profiles()
    for e in entries:
        if e.name == name:
            if e.error:
                raise e.error
            assert e.profile is not None
            return e.profile
    known = ", ".join(e.name for e in entries) or "none"
    raise ProfileError(f"no profile named {name!r} (profiles: {known}; folder: {app_dirs().profiles})")


def _source_of(p: Path) -> str:
    try:
        p.resolve().relative_to(builtin_profiles_dir().resolve())
        return "builtin"
    except ValueError:
        return "user"


def check_startable(profile: Profile, tier: Tier) -> None:
    """What `up` needs beyond a valid file: the model must be there (or be the demo model)."""
    if tier.is_remote:
        raise ProfileError(f"{tier.where}: tiers.{tier.name}: a remote tier has nothing to start")
    from tierdeck.core.demo import ensure_builtin_model  # noqa: PLC0415

    if ensure_builtin_model(tier.model_path):
        return
    if tier.model_path is None or not tier.model_path.is_file():
        where = tier.model_where or tier.where
        raise ProfileError(
            f"{where}: tiers.{tier.name}.model: model file not found: {tier.model_path} "
            f"(profile {profile.name})"
        )


class ProfileEditor:
    """Edit a profile file and save it keeping the user's comments, order and quoting."""

    def __init__(self, path: Path, text: str, source: str):
        self.path = Path(path)
        self.source = source
        self.doc: CommentedMap = parse_text(text, self.path)

    @classmethod
    def open(cls, profile_or_path: Profile | Path) -> ProfileEditor:
        if isinstance(profile_or_path, Profile):
            path, source = profile_or_path.path, profile_or_path.source
        else:
            path = Path(profile_or_path)
            source = _source_of(path)
        return cls(path, path.read_text(encoding="utf-8"), source)

    def set(self, keys: list[str], value: Any) -> None:
        """Set doc[k0][k1]...; missing mappings on the way are created."""
        node = self.doc
        for k in keys[:-1]:
            nxt = node.get(k)
            if nxt is None:
                nxt = CommentedMap()
                node[k] = nxt
            node = nxt
        node[keys[-1]] = value

    def delete(self, keys: list[str]) -> None:
        node = self.doc
        for k in keys[:-1]:
            node = node.get(k)
            if node is None:
                return
        node.pop(keys[-1], None)

    def set_tier(self, tier: str, key: str, value: Any) -> None:
        self.set(["tiers", tier, key], value)

    def text(self) -> str:
        buf = io.StringIO()
        _yaml().dump(self.doc, buf)
        return buf.getvalue()

    def target(self) -> Path:
        """Built-in files are never written: an edit becomes a user profile of that name."""
        if self.source == "builtin":
            return app_dirs().profiles / self.path.name
        return self.path

    def validate(self) -> Profile:
        return profile_from_text(self.text(), self.target(), "user", _models_dir())

    def save(self) -> Profile:
        """Validate, then write atomically; an invalid edit raises and leaves the file as it was."""
        text = self.text()
        target = self.target()
        try:
            prof = profile_from_text(text, target, "user", _models_dir())
        except ProfileError as e:
            raise ProfileError(issues=e.issues or [Issue(target, 0, "", str(e))]) from None
        atomic_write_text(target, text, mode=0o600)
        self.path, self.source = target, "user"
        return prof
