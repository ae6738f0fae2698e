"""Free memory on macOS the way macOS counts it, from `vm_stat`.

Activity Monitor's "Memory Used" is App Memory (anonymous pages minus purgeable ones) +
Wired + Compressed; everything else (free, file-backed cache, purgeable) is given back as soon
as something allocates. psutil's `available` on macOS is free + inactive only, which leaves out
purgeable and active file-backed pages, so a Mac that just unloaded a model looks full.
"""

from __future__ import annotations

import re
import subprocess

_PAGE = re.compile(r"page size of (\d+) bytes")
_LINE = re.compile(r'^"?([^":]+)"?:\s+(\d+)\.?\s*$')


def parse_vm_stat(text: str) -> dict[str, int]:
    """vm_stat counters in pages, keyed by their label ("Pages free", "Anonymous pages" ...)."""
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out[m.group(1).strip()] = int(m.group(2))
    m = _PAGE.search(text)
    if m:
        out["page size"] = int(m.group(1))
    return out


def available_from_vm_stat(text: str, total_bytes: int) -> int | None:
    """Bytes new allocations can get, or None when the text is not vm_stat output."""
    v = parse_vm_stat(text)
    page = v.get("page size")
    needed = ("Anonymous pages", "Pages wired down", "Pages occupied by compressor")
    if not page or any(k not in v for k in needed):
        return None
    app = max(0, v["Anonymous pages"] - v.get("Pages purgeable", 0))
    used = (app + v["Pages wired down"] + v["Pages occupied by compressor"]) * page
    return max(0, min(total_bytes, total_bytes - used))


def run_vm_stat() -> str:
    try:
        return subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5,
                              check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
