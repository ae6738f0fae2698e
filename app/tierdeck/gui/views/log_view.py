"""The selected server's log: live tail, search, copy, and the exact command line."""

from __future__ import annotations

import shlex

from PySide6.QtGui import QFont, QGuiApplication, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tierdeck.gui.bridges.clock import UiClock
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.shell.fonts import bold
from tierdeck.gui.views.file_tail import FileTail

MAX_LINES = 5000


class LogView(QWidget):
    def __init__(self, runner: TaskRunner, parent: QWidget | None = None,
                 clock: UiClock | None = None):
        super().__init__(parent)
        self.tail = FileTail(runner, clock, parent=self)
        self.tail.lines.connect(self._append)
        lay = QVBoxLayout(self)

        self.title = QLabel("No server selected")
        bold(self.title)
        lay.addWidget(self.title)

        cmd_row = QHBoxLayout()
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setPlaceholderText("command line of the selected server")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.command.setFont(mono)
        self.copy_command = QPushButton("Copy command")
        self.copy_command.clicked.connect(self.copy_command_line)
        cmd_row.addWidget(QLabel("Command"))
        cmd_row.addWidget(self.command, 1)
        cmd_row.addWidget(self.copy_command)
        lay.addLayout(cmd_row)

        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(mono)
        lay.addWidget(self.text, 1)

        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the log (Enter: next, Shift+Enter: previous)")
        self.search.returnPressed.connect(self.find_next)
        prev_b, next_b = QPushButton("Previous"), QPushButton("Next")
        prev_b.clicked.connect(self.find_previous)
        next_b.clicked.connect(self.find_next)
        self.follow_end = QPushButton("Follow")
        self.follow_end.setCheckable(True)
        self.follow_end.setChecked(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selection, or the whole log when nothing is selected")
        self.copy_button.clicked.connect(self.copy_text)
        self.status = QLabel()
        for w in (self.search, prev_b, next_b, self.follow_end, self.copy_button, self.status):
            row.addWidget(w, 1 if w is self.search else 0)
        lay.addLayout(row)
        self.log_path: str | None = None

    def show_server(self, title: str, log_path: str | None, command: list[str] | None,
                    display: str | None = None) -> None:
        """display: the supervisor's copyable command line (API key masked), else argv joined."""
        self.title.setText(title + (f"  —  {log_path}" if log_path else "  —  no log yet"))
        text = display or (shlex.join(command) if command else "")
        if text != self.command.text():
            self.command.setText(text)
        self.command.setCursorPosition(0)
        if str(log_path or "") != str(self.log_path or ""):
            self.log_path = str(log_path) if log_path else None
            self.text.clear()
            self.tail.follow(self.log_path)

    def _append(self, text: str, restarted: bool) -> None:
        if restarted:
            self.text.clear()
        if not text:
            return
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text if not self.text.document().isEmpty() else text)
        if self.follow_end.isChecked() and at_end:
            bar.setValue(bar.maximum())

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindFlag.FindBackward)

    def _find(self, flags) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        found = self.text.find(needle, flags)
        if not found:  # wrap around once
            cur = self.text.textCursor()
            cur.movePosition(QTextCursor.MoveOperation.End if flags else QTextCursor.MoveOperation.Start)
            self.text.setTextCursor(cur)
            found = self.text.find(needle, flags)
        if found:
            self.follow_end.setChecked(False)
        self.status.setText("" if found else "not found")
        return found

    def copy_text(self) -> str:
        sel = self.text.textCursor().selectedText().replace("\u2029", "\n")
        text = sel or self.plain_text()
        QGuiApplication.clipboard().setText(text)
        return text

    def copy_command_line(self) -> str:
        QGuiApplication.clipboard().setText(self.command.text())
        return self.command.text()

    def stop(self) -> None:
        self.tail.stop()
