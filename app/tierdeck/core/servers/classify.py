"""Why did a llama-server stop? A pure function over its last log lines and exit status.

Patterns are matched on the message text, not the prefix (llama.cpp's function names and
timestamp formats change between builds). When several match, the most specific wins:
a port clash or a bad flag explains everything that follows it.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

KINDS = ("port_in_use", "bad_flag", "model_not_found", "oom", "model_corrupt", "timeout", "exited")

# Shared with planner/calibrate.py, which learns reserves from the same lines.
OOM = re.compile(
    r"out of memory|cudaMalloc failed|failed to allocate|unable to allocate|insufficient memory"
    r"|OutOfMemory|std::bad_alloc|cannot allocate memory|hipMalloc failed|vk::OutOfDeviceMemory",
    re.I)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("port_in_use", re.compile(
        r"couldn't bind|could not bind|address already in use|bind\(\) failed|failed to bind"
        r"|EADDRINUSE", re.I)),
    ("bad_flag", re.compile(
        r"error: invalid argument|unknown argument|error while handling argument"
        r"|invalid value for|unknown value for|error: (?:the )?argument .* (?:requires|expected)"
        r"|expected value for argument|invalid parameter for argument", re.I)),
    ("model_not_found", re.compile(
        r"failed to open GGUF file|no such file or directory|model file not found"
        r"|does not exist", re.I)),
    ("oom", OOM),
    ("model_corrupt", re.compile(
        r"invalid magic|failed to read (?:tensor|key|header|magic|the tensor)|not within the file bounds"
        r"|unknown model architecture|unsupported model architecture|error loading model architecture"
        r"|invalid gguf|corrupt|wrong number of tensors|failed to read gguf|tensor '.*' has wrong shape"
        r"|gguf_init_from_file\w*: failed", re.I)),
]
_LOAD_ERROR = re.compile(r"error loading model|failed to load model|exiting due to model loading error", re.I)
# After these the model is loaded: load-time complaints before them (a retried allocation,
# say) do not explain a later exit.
LOADED = re.compile(r"model loaded|all slots are idle|starting the main loop", re.I)

_SUMMARY = {
    "port_in_use": "port in use",
    "bad_flag": "bad flag",
    "model_not_found": "model not found",
    "oom": "out of memory",
    "model_corrupt": "model file corrupt or unsupported",
    "timeout": "not ready in time",
    "exited": "exited",
}
_HINT = {
    "port_in_use": "another program listens on that port: pick another port or port: auto",
    "bad_flag": "this llama-server build does not accept an argument: check extra_args",
    "model_not_found": "check the model path in the profile",
    "oom": "lower context per slot or slots, quantize the KV cache, or offload fewer layers "
    "(-ngl / --n-cpu-moe)",
    "model_corrupt": "re-download the GGUF, or update llama-server for a newer architecture",
}


@dataclass(frozen=True)
class Failure:
    kind: str  # one of KINDS
    summary: str  # "out of memory", "port in use" ...
    line: str  # the log line that says so ("" when only the exit status is known)
    hint: str = ""
    exit_code: int | None = None

    @property
    def message(self) -> str:
        """One line for a status table: 'out of memory: cudaMalloc failed ...',
        'exited (killed by SIGKILL): <last error line>'."""
        text = self.summary
        # A signal is always named (the OOM killer's SIGKILL explains more than the last
        # log line); a plain exit status only when the log says nothing.
        if self.exit_code is not None and (self.exit_code < 0 or not self.line):
            text += f" ({describe_exit(self.exit_code)})"
        if self.line:
            text += f": {self.line}"
        return text

    def to_dict(self) -> dict:
        return {"kind": self.kind, "summary": self.summary, "line": self.line,
                "hint": self.hint, "exit_code": self.exit_code, "message": self.message}


def _strip_prefix(line: str) -> str:
    """'3.02.199.205 E llama_kv_cache_init: failed ...' -> 'llama_kv_cache_init: failed ...'."""
    line = line.rstrip()
    m = re.match(r"^\s*\d+(?:\.\d+)+\s+[A-Z]\s+", line)
    return line[m.end():] if m else line.strip()


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit status {code}"


def classify_failure(lines: list[str], exit_code: int | None = None) -> Failure:
    """The reason a server stopped, from its last log lines (oldest first)."""
    start = 0
    for i, raw in enumerate(lines):
        if LOADED.search(raw):
            start = i + 1
    relevant = [_strip_prefix(x) for x in lines[start:] if x.strip()]
    best: tuple[int, str, str] | None = None  # (priority, kind, line)
    for text in relevant:
        for prio, (kind, pat) in enumerate(_PATTERNS):
            if pat.search(text) and (best is None or prio < best[0]):
                best = (prio, kind, text)
                break
    if best is not None:
        _, kind, text = best
        return Failure(kind, _SUMMARY[kind], text, _HINT.get(kind, ""), exit_code)
    for text in reversed(relevant):
        if _LOAD_ERROR.search(text):
            return Failure("exited", "model failed to load", text, "", exit_code)
    last_error = next((t for t in reversed(relevant) if re.search(r"\berror\b", t, re.I)), "")
    return Failure("exited", _SUMMARY["exited"], last_error, "", exit_code)


def timeout_failure(seconds: float, lines: list[str]) -> Failure:
    last = next((_strip_prefix(x) for x in reversed(lines) if x.strip()), "")
    return Failure("timeout", f"not ready after {seconds:g} s", last,
                   "raise load_timeout_s for big models on slow disks")
