"""The one lifecycle of a server: its states, the moves allowed between them, and predicates.

Every state change of a tracked server goes through `move()`: it consults TRANSITIONS,
rejects a move the table does not allow (IllegalTransition), records detail and reason,
and returns the StateChanged event for the caller to emit once its lock is released.
The window, the CLI and the metrics use the predicates below instead of their own tuples.

The usual path is stopped -> starting -> ready -> stopping -> stopped; a load that ends
badly goes starting -> failed, a ready server that dies goes ready -> crashed, and both may
go back to starting (restart policy). TRANSITIONS below lists every move with its cause.
A server that has not been spawned yet is `starting` with pid 0 (planning, registry entry
being written); "restart pending" is a `crashed`/`failed` server with a restart time set.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tierdeck.core.servers.events import StateChanged
    from tierdeck.core.servers.server import ManagedServer


class State(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"  # listed, launching or loading: not answering /health yet
    READY = "ready"
    STOPPING = "stopping"  # SIGTERM sent (by us or by another TierDeck process)
    CRASHED = "crashed"  # was ready, then exited without being asked to
    FAILED = "failed"  # never became ready (bad flag, OOM at load, timeout, ...)


S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    # stopped -> crashed / stopping: a server found in the registry dead, or being stopped.
    S.STOPPED: frozenset({S.STARTING, S.STOPPING, S.CRASHED}),
    # starting -> stopped: stopped by another TierDeck process while it loaded.
    S.STARTING: frozenset({S.READY, S.STOPPING, S.FAILED, S.STOPPED}),
    S.READY: frozenset({S.STOPPING, S.CRASHED, S.STOPPED}),
    # stopping -> failed: a load timeout stops the server and then reports the failure.
    S.STOPPING: frozenset({S.STOPPED, S.FAILED}),
    # crashed/failed -> starting: restart policy or the user; -> stopping: down() cancels
    # a pending restart.
    S.CRASHED: frozenset({S.STARTING, S.STOPPING}),
    S.FAILED: frozenset({S.STARTING, S.STOPPING}),
}

# Predicates shared by every caller. A state string from a ServerStatus works too.
ACTIVE = frozenset({S.STARTING, S.READY, S.STOPPING})  # a process exists or is being made
LIVE = frozenset({S.STARTING, S.READY})  # up or coming up: clients may point at it
BUSY = frozenset({S.STARTING, S.STOPPING})  # a transition is under way
PROBLEM = frozenset({S.CRASHED, S.FAILED})  # ended without being asked to


def active(state: str) -> bool:
    """A process exists (or is being launched) for this server: down() has work to do."""
    return state in ACTIVE


def live(state: str) -> bool:
    """Serving or about to: what clients, metrics and the tray count as running."""
    return state in LIVE


def busy(state: str) -> bool:
    return state in BUSY


def problem(state: str) -> bool:
    return state in PROBLEM


class IllegalTransition(RuntimeError):
    """A move the lifecycle table does not allow: a bug in the caller, never user input."""


def allowed(src: str, dst: str) -> bool:
    return State(dst) in TRANSITIONS[State(src)]


def move(s: ManagedServer, to: State, detail: str | None = None,
         reason: str | None = None) -> StateChanged:
    """Move s to `to` (the caller holds the supervisor lock); returns the event to emit.

    detail/reason None keep the current text; a move into a non-problem state clears the
    reason, so a restarted server does not keep showing its old crash.
    """
    src = State(s.state)
    if to not in TRANSITIONS[src]:
        raise IllegalTransition(f"{s.key}: {src} -> {to} is not a lifecycle move")
    s.state = to.value  # a plain str in ServerStatus and events, as before
    if detail is not None:
        s.detail = detail
    if reason is not None:
        s.reason = reason
    elif to not in PROBLEM:
        s.reason = ""
    from tierdeck.core.servers.events import StateChanged  # noqa: PLC0415 - import cycle

    return StateChanged(s.key, s.tier_name, s.profile, str(to), str(src), s.reason, s.status())
