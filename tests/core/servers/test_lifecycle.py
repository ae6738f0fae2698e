"""The lifecycle table, move() and the shared predicates: no process is spawned here."""

from itertools import product
from pathlib import Path

import pytest

from tierdeck.core.servers import lifecycle
from tierdeck.core.servers.events import STATES, ServerStatus
from tierdeck.core.servers.lifecycle import IllegalTransition, State, move
from tierdeck.core.servers.server import ManagedServer

S = State
# Every move the supervisor makes, with who makes it. The table must allow exactly these.
EXPECTED = {
    (S.STOPPED, S.STARTING): "start: planned, registry entry written",
    (S.STOPPED, S.STOPPING): "adopted while another TierDeck process stops it",
    (S.STOPPED, S.CRASHED): "found dead in the registry",
    (S.STARTING, S.READY): "/health answered 200",
    (S.STARTING, S.STOPPING): "down() during the load, or the load timed out",
    (S.STARTING, S.FAILED): "exited before ready, or could not be spawned",
    (S.STARTING, S.STOPPED): "adopted, stopped by another TierDeck process",
    (S.READY, S.STOPPING): "down() / switch",
    (S.READY, S.CRASHED): "exited without being asked to",
    (S.READY, S.STOPPED): "stopped by another TierDeck process",
    (S.STOPPING, S.STOPPED): "the process is gone",
    (S.STOPPING, S.FAILED): "a load timeout finished stopping it",
    (S.CRASHED, S.STARTING): "restart policy",
    (S.CRASHED, S.STOPPING): "down() cancels a pending restart",
    (S.FAILED, S.STARTING): "restart policy (a load that exited)",
    (S.FAILED, S.STOPPING): "down() cancels a pending restart",
}


def server(state: str) -> ManagedServer:
    return ManagedServer(key="p/t", profile="p", tier_name="t", tier=None, host="127.0.0.1",
                         port=8080, alias="a", command=["llama-server"], display="llama-server",
                         env={}, log_path=Path("/nonexistent.log"), state=str(state))


def test_states_are_the_public_ones():
    assert set(STATES) == {str(s) for s in State}
    assert set(lifecycle.TRANSITIONS) == set(State)


@pytest.mark.parametrize(("src", "dst"), list(product(State, State)),
                         ids=lambda s: str(s))
def test_every_pair_is_allowed_exactly_when_the_table_says(src, dst):
    s = server(src)
    s.reason = "old reason"
    if (src, dst) in EXPECTED:
        ev = move(s, dst, detail="why", reason="because" if dst in lifecycle.PROBLEM else None)
        assert s.state == dst and s.detail == "why"
        assert (ev.previous, ev.state, ev.key) == (src, dst, "p/t")
        assert ev.status.state == dst  # the snapshot is taken after the move
        # a reason belongs to crashed/failed only: a restart does not keep the old crash
        assert s.reason == ("because" if dst in lifecycle.PROBLEM else "")
    else:
        with pytest.raises(IllegalTransition, match=f"{src} -> {dst}"):
            move(s, dst, detail="why")
        assert s.state == src and s.detail == "" and s.reason == "old reason"


def test_table_has_no_move_nobody_makes():
    table = {(a, b) for a, targets in lifecycle.TRANSITIONS.items() for b in targets}
    assert table == set(EXPECTED)


def test_reason_and_detail_are_kept_when_not_given():
    s = server(S.STARTING)
    move(s, S.FAILED, detail="exit status 1", reason="bad flag: --nope")
    move(s, S.STOPPING)
    assert s.detail == "exit status 1" and s.reason == ""


@pytest.mark.parametrize(("state", "active", "live", "busy", "problem"), [
    (S.STOPPED, False, False, False, False),
    (S.STARTING, True, True, True, False),
    (S.READY, True, True, False, False),
    (S.STOPPING, True, False, True, False),
    (S.CRASHED, False, False, False, True),
    (S.FAILED, False, False, False, True),
])
def test_predicates(state, active, live, busy, problem):
    assert lifecycle.active(state) is active and lifecycle.active(str(state)) is active
    assert lifecycle.live(state) is live and lifecycle.busy(state) is busy
    assert lifecycle.problem(state) is problem
    st = ServerStatus(tier="t", profile="p", state=str(state))
    assert st.running is active and st.live is live


def test_unknown_state_string_is_rejected():
    with pytest.raises(ValueError):
        move(server("zombie"), S.READY)
