"""Run blocking core calls on worker threads; results come back on the UI thread as signals.

Two pools: `quick` for short reads (server status, log tail, device memory, fit checks) and
`long` for work that can block for minutes (start/switch/stop a server, benchmarks, a streamed
answer). A tier loading for its whole timeout then never delays a status or log read.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger("tierdeck.gui.bridges.tasks")


class Cancelled(Exception):
    """Raised by a task function that noticed its cancel event."""


class Task(QObject):
    """One background call. Signals are delivered on the UI thread (queued connection)."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)
    finished = Signal()  # after done/failed, always

    def __init__(self, name: str, fn: Callable[..., Any], args: tuple, kwargs: dict):
        super().__init__()
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.cancel_event = threading.Event()
        self.result: Any = None
        self.error: str | None = None
        self.is_finished = False

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def _emit_progress(self, *args: Any) -> None:
        self.progress.emit(args[0] if len(args) == 1 else args)

    def _run(self) -> None:
        try:
            kwargs = dict(self.kwargs)
            params = _params(self.fn)
            if "cancel" in params:
                kwargs["cancel"] = self.cancel_event
            if "progress" in params:
                kwargs["progress"] = self._emit_progress
            self.result = self.fn(*self.args, **kwargs)
        except Cancelled:
            self.error = "cancelled"
        except Exception as e:  # shown to the user as one line; full trace to the app log
            log.exception("task %s failed", self.name)
            self.error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        self.is_finished = True
        if self.error is None:
            self.done.emit(self.result)
        else:
            self.failed.emit(self.error)
        self.finished.emit()


def _params(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


class _Runnable(QRunnable):
    def __init__(self, task: Task):
        super().__init__()
        self.setAutoDelete(True)
        self._task = task

    def run(self) -> None:
        self._task._run()


class TaskRunner(QObject):
    """Owns the two thread pools and keeps each Task alive until its signals have been delivered."""

    busy_changed = Signal(int)

    def __init__(self, max_threads: int = 4, long_threads: int = 4, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)  # quick reads
        self.pool.setMaxThreadCount(max_threads)
        self.long_pool = QThreadPool(self)  # operations that may block for minutes
        self.long_pool.setMaxThreadCount(long_threads)
        self._active: set[Task] = set()

    def submit(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        long: bool = False,
        **kwargs: Any,
    ) -> Task:
        """Run fn(*args, **kwargs) on the quick pool, or with long=True on the long pool.
        Callbacks are connected here, before the task starts: one connected to the returned
        Task afterwards can miss a task that has already finished."""
        task = Task(name, fn, args, kwargs)
        if on_done:
            task.done.connect(on_done)
        if on_error:
            task.failed.connect(on_error)
        if on_progress:
            task.progress.connect(on_progress)
        if on_finished:
            task.finished.connect(on_finished)
        # A bound slot, not a lambda: Qt drops it with the runner, so a task whose `finished`
        # is still queued when its window closes does not call into a deleted runner.
        task.finished.connect(self._task_finished)
        self._active.add(task)
        self.busy_changed.emit(len(self._active))
        (self.long_pool if long else self.pool).start(_Runnable(task))
        return task

    def _task_finished(self) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._forget(task)

    def _forget(self, task: Task) -> None:
        self._active.discard(task)
        self.busy_changed.emit(len(self._active))

    @property
    def active(self) -> list[Task]:
        return list(self._active)

    def cancel_all(self) -> None:
        for t in list(self._active):
            t.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        # Long first: a finishing stop may still submit a status read to the quick pool.
        return self.long_pool.waitForDone(timeout_ms) and self.pool.waitForDone(timeout_ms)
