"""The profile combo box; profiles are listed on a worker thread (they are YAML files)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from tierdeck.core.profiles import ProfileEntry, list_profiles
from tierdeck.gui.bridges.tasks import TaskRunner


class ProfilePicker(QComboBox):
    picked = Signal(object)  # ProfileEntry
    listed = Signal(list)  # list[ProfileEntry], after each (re)load

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.entries: list[ProfileEntry] = []
        self._wanted: str | None = None
        self.setMinimumWidth(220)
        self.setToolTip("Profile: a model setup and its tiers")
        self.currentIndexChanged.connect(self._changed)

    def reload(self, select: str | None = None) -> None:
        self._wanted = select or self.current_name()
        self.runner.submit("list profiles", list_profiles, on_done=self._show)

    def current_name(self) -> str | None:
        e = self.current_entry()
        return e.name if e else None

    def current_entry(self) -> ProfileEntry | None:
        i = self.currentIndex()
        return self.entries[i] if 0 <= i < len(self.entries) else None

    def _show(self, entries: list[ProfileEntry]) -> None:
        self.blockSignals(True)
        self.clear()
        self.entries = list(entries)
        model = self.model()
        for i, e in enumerate(self.entries):
            label = e.name + ("" if e.source == "builtin" else "  (yours)")
            if e.error:
                label += "  — invalid"
            self.addItem(label)
            tip = str(e.path) + ("\n" + e.error.first_line if e.error else "")
            self.setItemData(i, tip, role=3)  # Qt.ToolTipRole
            if e.error and isinstance(model, QStandardItemModel):
                model.item(i).setEnabled(False)
        names = [e.name for e in self.entries]
        idx = names.index(self._wanted) if self._wanted in names else -1
        if idx < 0:
            idx = next((i for i, e in enumerate(self.entries) if e.ok), -1)
        self.setCurrentIndex(idx)
        self.blockSignals(False)
        self.listed.emit(self.entries)
        self._changed(idx)

    def select(self, name: str) -> bool:
        for i, e in enumerate(self.entries):
            if e.name == name and e.ok:
                self.setCurrentIndex(i)
                return True
        return False

    def _changed(self, idx: int) -> None:
        if 0 <= idx < len(self.entries) and self.entries[idx].ok:
            self.picked.emit(self.entries[idx])
