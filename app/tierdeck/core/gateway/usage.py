"""Token counts of a finished request, read from llama-server's (or Anthropic's) response.

Non-streaming bodies carry `usage` (and llama-server's `timings`); a stream carries them in
its first and last events (Anthropic: message_start / message_delta; OpenAI: the final
chunk's `usage` or `timings`). Only the head and tail of a stream are kept for this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

HEAD = 4096
TAIL = 8192


@dataclass
class Usage:
    prompt: int = 0
    cached: int = 0
    completion: int = 0

    def add_doc(self, d: dict) -> None:
        u = d.get("usage")
        if not isinstance(u, dict) and isinstance(d.get("message"), dict):
            u = d["message"].get("usage")  # Anthropic message_start
        if isinstance(u, dict):
            if "input_tokens" in u:  # Anthropic
                self.prompt = max(self.prompt, _int(u.get("input_tokens"))
                                  + _int(u.get("cache_read_input_tokens")))
                self.cached = max(self.cached, _int(u.get("cache_read_input_tokens")))
            if "output_tokens" in u:
                self.completion = max(self.completion, _int(u.get("output_tokens")))
            if "prompt_tokens" in u:  # OpenAI
                self.prompt = max(self.prompt, _int(u.get("prompt_tokens")))
                self.completion = max(self.completion, _int(u.get("completion_tokens")))
                det = u.get("prompt_tokens_details")
                if isinstance(det, dict):
                    self.cached = max(self.cached, _int(det.get("cached_tokens")))
        t = d.get("timings")
        if isinstance(t, dict):  # llama-server: prompt_n counts only the uncached part
            cache_n = _int(t.get("cache_n"))
            self.cached = max(self.cached, cache_n)
            self.prompt = max(self.prompt, _int(t.get("prompt_n")) + cache_n)
            self.completion = max(self.completion, _int(t.get("predicted_n")))


def _int(v: object) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def from_body(raw: bytes) -> Usage:
    u = Usage()
    try:
        d = json.loads(raw)
    except ValueError:
        return u
    if isinstance(d, dict):
        u.add_doc(d)
    return u


def from_stream(head: bytes, tail: bytes) -> Usage:
    u = Usage()
    for part in (head, tail):
        for line in part.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            try:
                d = json.loads(line[5:])
            except ValueError:
                continue  # a cut-off line at the edge of head/tail, or [DONE]
            if isinstance(d, dict):
                u.add_doc(d)
    return u


class StreamTap:
    """Keeps the first HEAD and last TAIL bytes of a stream that passes through."""

    __slots__ = ("head", "tail")

    def __init__(self) -> None:
        self.head = b""
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.tail = (self.tail + chunk)[-TAIL:]

    def usage(self) -> Usage:
        return from_stream(self.head, self.tail)
