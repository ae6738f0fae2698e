"""Add a model: pick a GGUF, see its facts and a suggested tier for this machine, save a profile."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware import Detection, Device
from tierdeck.core.planner import FitResult
from tierdeck.core.profiles import Profile
from tierdeck.core.settings import Settings
from tierdeck.core.units import fmt_bytes
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.plan.new_profile import new_profile_text, profile_name_for, save_new_profile
from tierdeck.gui.shell.fonts import bold, set_text_color

TIER_NAMES = ("sonnet", "haiku", "opus")


def suggest(path: str, detection: Detection | None, reserve_mib: int) -> tuple[ModelFacts, FitResult, Device]:
    """(facts, FitResult, device): read on a worker; the planner picks the largest fitting ctx."""
    from tierdeck.core.gguf import read_facts  # noqa: PLC0415
    from tierdeck.core.hardware import detect_devices  # noqa: PLC0415
    from tierdeck.core.planner import PlanRequest, fit_context  # noqa: PLC0415

    facts = read_facts(path)
    det = detection or detect_devices(reserve_mib)
    dev = det.default_device()
    fit = fit_context(facts, PlanRequest(ctx_per_slot=None, type_k="auto", type_v="auto"), dev)
    return facts, fit, dev


def facts_text(f: ModelFacts) -> str:
    kv = f.kv_elements_per_token() * 2  # f16 bytes per token (all KV layers)
    lines = [
        f"{f.name or Path(f.path).name} — {f.arch}, {f.size_label or '?'} {f.file_type or ''}",
        f"weights {fmt_bytes(f.weights_bytes)} · {f.n_layer} layers · vocabulary {f.vocab_size}",
        f"trained context {f.ctx_train} · KV at f16 {fmt_bytes(kv)} per token",
    ]
    if f.n_expert:
        lines.append(f"MoE: {f.n_expert} experts, {f.n_expert_used} active")
    if f.is_hybrid:
        lines.append(f"hybrid: {f.n_recurrent_layers} recurrent layers")
    lines += f.notes[:3]
    return "\n".join(lines)


class AddModelDialog(QDialog):
    suggested = Signal(str)

    def __init__(self, runner: TaskRunner, settings: Settings, detection: Detection | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add a model")
        self.resize(640, 420)
        self.runner = runner
        self.settings = settings
        self.detection = detection
        self.facts: ModelFacts | None = None
        self.fit: FitResult | None = None
        self.saved_profile: Profile | None = None

        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("a .gguf file (the first part of a split model)")
        self.path.editingFinished.connect(lambda: self.load(self.path.text()))
        pick = QPushButton("Choose GGUF…")
        pick.clicked.connect(self._pick)
        row.addWidget(self.path, 1)
        row.addWidget(pick)
        lay.addLayout(row)
        self.facts_label = QLabel("Pick a model file to see what it needs.")
        self.facts_label.setWordWrap(True)
        lay.addWidget(self.facts_label)
        self.suggestion = QLabel()
        self.suggestion.setWordWrap(True)
        bold(self.suggestion)
        lay.addWidget(self.suggestion)

        form = QFormLayout()
        self.name = QLineEdit()
        self.tier = QComboBox()
        self.tier.setEditable(True)
        self.tier.addItems(list(TIER_NAMES))
        self.alias = QLineEdit()
        self.alias.setPlaceholderText("local-sonnet")
        self.thinking = QComboBox()
        self.thinking.addItem("template default", None)
        self.thinking.addItem("on", True)
        self.thinking.addItem("off", False)
        form.addRow("Profile name", self.name)
        form.addRow("Tier", self.tier)
        form.addRow("Alias", self.alias)
        form.addRow("Thinking", self.thinking)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        set_text_color(self.error, QColor(208, 60, 60))
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
        lay.addWidget(self.buttons)

    def _pick(self) -> None:
        start = self.settings.models_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", start, "GGUF (*.gguf)")
        if path:
            self.path.setText(path)
            self.load(path)

    def load(self, path: str) -> None:
        path = path.strip()
        if not path:
            return
        self.facts_label.setText(f"reading {Path(path).name}…")
        self.suggestion.setText("")
        self.error.setText("")
        if not self.name.text():
            self.name.setText(profile_name_for(Path(path)))
        self.runner.submit("suggest", suggest, path, self.detection, self.settings.reserve_mib,
                           on_done=self._got, on_error=self._failed)

    def _got(self, result: tuple[ModelFacts, FitResult, Device]) -> None:
        self.facts, self.fit, dev = result
        self.facts_label.setText(facts_text(self.facts))
        best = self.fit.best
        if best is not None:
            text = (f"Suggested for {dev.name}: {best.parallel} slot(s) × {best.ctx_per_slot} "
                    f"tokens, KV {best.type_k} — {fmt_bytes(best.total_bytes)} of "
                    f"{fmt_bytes(best.budget_bytes)}")
        else:
            text = f"Does not fit {dev.name}:\n{self.fit.explanation}"
        self.suggestion.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        self.suggested.emit(text)

    def _failed(self, msg: str) -> None:
        self.facts_label.setText("")
        self.error.setText(msg)

    def profile_text(self) -> str:
        tier = self.tier.currentText().strip() or "sonnet"
        est = self.fit.best if self.fit is not None else None
        if est is None and self.fit is not None and self.fit.alternatives:
            est = self.fit.alternatives[0]
        return new_profile_text(self.name.text().strip(), Path(self.path.text().strip()), tier,
                                self.alias.text().strip() or f"local-{tier}", est,
                                self.thinking.currentData())

    def save(self) -> None:
        try:
            self.saved_profile = save_new_profile(self.profile_text(), self.name.text().strip())
        except Exception as e:  # ProfileError and OSError: one line in the dialog
            self.error.setText(str(e).splitlines()[0])
            return
        self.accept()
