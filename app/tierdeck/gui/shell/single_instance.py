"""One TierDeck window per user: a second launch asks the first to come to the front."""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from tierdeck.core.paths import app_dirs

RAISE = b"raise\n"


def server_name() -> str:
    """Per user and per config folder (TIERDECK_HOME), so isolated tests never collide."""
    key = f"{getpass.getuser()}|{app_dirs().config}"
    return "tierdeck-" + hashlib.sha256(key.encode()).hexdigest()[:16]


class SingleInstance(QObject):
    activated = Signal()  # another launch asked this one to show itself

    def __init__(self, name: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name or server_name()
        self._server: QLocalServer | None = None
        self._clients: list[QLocalSocket] = []

    def notify_running(self, timeout_ms: int = 500) -> bool:
        """True when another instance answered (and was asked to raise its window)."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(RAISE)
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def listen(self) -> bool:
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(self.name):
            # A stale socket file from a crashed instance: nobody answered, so remove it.
            QLocalServer.removeServer(self.name)
            if not self._server.listen(self.name):
                return False
        self._server.newConnection.connect(self._on_connection)
        return True

    def acquire(self) -> bool:
        """True: this is the first instance (now listening). False: another one was raised."""
        if self.notify_running():
            return False
        return self.listen()

    def close(self) -> None:
        for sock in self._clients:
            sock.readyRead.disconnect(self._read_all)
            sock.abort()
        self._clients = []
        if self._server is not None:
            self._server.close()
            self._server = None

    def _on_connection(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            self._clients.append(sock)
            sock.readyRead.connect(self._read_all)
        self._read_all()

    def _read_all(self) -> None:
        raised = False
        for sock in list(self._clients):
            if sock.bytesAvailable() and RAISE.strip() in bytes(sock.readAll()):
                raised = True
            if sock.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                self._clients.remove(sock)
                sock.readyRead.disconnect(self._read_all)
        if raised:
            self.activated.emit()
