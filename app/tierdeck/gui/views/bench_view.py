"""Quick benchmark of the selected tier, in a worker, cancellable."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.profiles import Profile
from tierdeck.core.quickbench import BenchResult, quick_bench
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.bridges.tasks import Task, TaskRunner
from tierdeck.gui.shell.fonts import bold


class BenchView(QWidget):
    finished = Signal(object)  # BenchResult, or None when cancelled / failed

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.profile: Profile | None = None
        self.tier: str | None = None
        self.statuses: dict[str, ServerStatus] = {}
        self.bandwidth_for: Callable[[str], float | None] = lambda _t: None
        self.task: Task | None = None
        self.result: BenchResult | None = None

        lay = QVBoxLayout(self)
        self.title = QLabel("Select a running tier")
        bold(self.title)
        lay.addWidget(self.title)
        form = QFormLayout()
        self.n = QSpinBox()
        self.n.setRange(1, 100)
        self.n.setValue(5)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(32)
        form.addRow("Requests", self.n)
        form.addRow("Tokens per answer", self.max_tokens)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run quick benchmark")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["prompt tokens", "prompt tok/s", "generated", "gen tok/s", "wall s"])
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self._update_enabled()

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile

    def select_tier(self, name: str) -> None:
        self.tier = name
        self._update_enabled()

    def set_statuses(self, statuses: dict[str, ServerStatus]) -> None:
        self.statuses = statuses
        self._update_enabled()

    def _status(self) -> ServerStatus | None:
        return self.statuses.get(self.tier) if self.tier else None

    def _update_enabled(self) -> None:
        st = self._status()
        ready = st is not None and st.state == "ready" and bool(st.base_url)
        running = self.task is not None
        self.run_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        if self.tier:
            state = st.state if st else "stopped"
            self.title.setText(f"Quick benchmark — {self.tier} ({state})"
                               + ("" if ready else ": start the tier first"))

    def run(self) -> Task | None:
        st = self._status()
        if st is None or st.state != "ready" or self.task is not None:
            return None
        tier = self.profile.tiers.get(self.tier) if self.profile and self.tier else None
        self.table.setRowCount(0)
        self.summary.setText("running…")
        self.progress.setRange(0, self.n.value())
        self.progress.setValue(0)
        self.task = self.runner.submit(
            f"benchmark {self.tier}", quick_bench, st.base_url,
            n=self.n.value(), max_tokens=self.max_tokens.value(),
            api_key=tier.api_key if tier is not None else None, model=st.alias,
            bandwidth_tps=self.bandwidth_for(self.tier),
            on_done=self._done, on_error=self._failed,
            on_progress=lambda p: self.progress.setValue(p[0] if isinstance(p, tuple) else p),
            long=True,
        )
        self._update_enabled()
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _done(self, result: BenchResult) -> None:
        self.task = None
        self.result = result
        self.summary.setText(result.summary())
        self.table.setRowCount(len(result.runs))
        for i, r in enumerate(result.runs):
            vals = [r.prompt_tokens, r.prompt_tps, r.gen_tokens, r.gen_tps, r.wall_s]
            for j, v in enumerate(vals):
                text = "n/a" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
                self.table.setItem(i, j, QTableWidgetItem(text))
        self._update_enabled()
        self.finished.emit(result)

    def _failed(self, msg: str) -> None:
        self.task = None
        self.summary.setText(f"benchmark stopped: {msg}")
        self._update_enabled()
        self.finished.emit(None)
