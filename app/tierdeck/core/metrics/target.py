"""What the sampler watches: one running llama-server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str  # the tier name; series and table rows are keyed by it
    base_url: str  # e.g. http://127.0.0.1:18080
    pid: int | None  # lets the sampler match NVML / psutil readings to this server
    api_key: str | None = None  # /metrics and /slots need it when the server has --api-key
    planned_bytes: int | None = None  # what the plan said this server would take
    loaded_bytes: int | None = None  # what its load log said it allocated (MemoryLogParser)

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/")
