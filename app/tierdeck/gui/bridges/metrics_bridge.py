"""The Qt side of tierdeck.core.metrics.Sampler: targets from the supervisor, samples as signals."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from tierdeck.core.metrics import MetricsStore, Sample, Sampler, Target
from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.bridges.supervisor_bridge import SupervisorBridge
from tierdeck.gui.tiers.card_model import loaded_total

log = logging.getLogger("tierdeck.gui.metrics")


def targets_from(statuses: dict[str, ServerStatus]) -> list[Target]:
    out = []
    for s in statuses.values():
        if not lifecycle.live(s.state) or not s.base_url:
            continue
        out.append(Target(
            name=s.tier,
            base_url=s.base_url,
            pid=s.pid,
            api_key=s.api_key,
            planned_bytes=s.planned_bytes,
            loaded_bytes=loaded_total(s.loaded),
        ))
    return out


class MetricsBridge(QObject):
    sampled = Signal(object)  # Sample, on the UI thread
    _from_worker = Signal(object)

    def __init__(self, bridge: SupervisorBridge, interval_s: float = 1.0, store: MetricsStore | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.interval_s = interval_s
        self.store = store or MetricsStore()
        # Read by the sampler thread: replaced as a whole, never mutated in place.
        self._targets: list[Target] = []
        self.sampler: Sampler | None = None
        self._unsub: Callable[[], None] | None = None
        self.latest: Sample | None = None
        self._from_worker.connect(self._on_sample, Qt.ConnectionType.QueuedConnection)
        bridge.statuses_changed.connect(self._update_targets)

    def _update_targets(self, statuses: dict[str, ServerStatus]) -> None:
        self._targets = targets_from(statuses)

    def targets(self) -> list[Target]:
        return self._targets

    def start(self) -> None:
        if self.sampler is not None:
            return
        self.sampler = Sampler(self.targets, interval_s=self.interval_s, store=self.store)
        self._unsub = self.sampler.subscribe(self._from_worker.emit)
        self.sampler.start()

    def stop(self) -> None:
        if self.sampler is None:
            return
        if self._unsub is not None:
            self._unsub()
        self.sampler.stop()
        self.sampler = None

    def set_interval(self, interval_s: float) -> None:
        if interval_s == self.interval_s:
            return
        self.interval_s = interval_s
        if self.sampler is not None:
            self.sampler.set_interval(interval_s)

    def _on_sample(self, sample: Sample) -> None:
        self.latest = sample
        self.sampled.emit(sample)

    def speeds(self) -> dict[str, float | None]:
        s = self.latest
        if s is None:
            return {}
        out: dict[str, float | None] = {}
        for srv in s.servers:
            v = srv.gen_tps
            out[srv.name] = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        return out
