"""Host RAM: where a CPU-only llama-server (or --n-cpu-moe experts) lives."""

from __future__ import annotations

import platform

from tierdeck.core.hardware.device import Device, budget


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def read_cpu(index: int, total: int, available: int, reserve_bytes: int = 0, name: str | None = None) -> Device:
    return Device(
        index=index,
        kind="cpu",
        name=name or cpu_name(),
        total_bytes=total,
        free_bytes=available,
        used_bytes=total - available,
        reserve_bytes=reserve_bytes,
        budget_bytes=budget(available, reserve_bytes),
        source="psutil",
        how={
            "total_bytes": "psutil.virtual_memory().total",
            "free_bytes": "psutil.virtual_memory().available",
            "budget_bytes": "available - reserve",
        },
    )
