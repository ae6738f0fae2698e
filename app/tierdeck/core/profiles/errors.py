"""Profile errors that name the file, the line and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Issue:
    file: Path
    line: int  # 1-based, 0 when unknown
    key: str  # dotted path such as tiers.haiku.port
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ProfileError(Exception):
    """A profile that cannot be used. str() is one line per problem, the first one first."""

    def __init__(self, message: str | None = None, issues: list[Issue] | None = None):
        self.issues = list(issues or [])
        if message is None:
            message = "\n".join(str(i) for i in self.issues) or "invalid profile"
        super().__init__(message)

    @property
    def first_line(self) -> str:
        return str(self).splitlines()[0]
