"""Time-axis markers: when a tier started, swapped, crashed or restarted, and why (no Qt).

Built from the supervisor's StateChanged events as they reach the UI thread. A swap is a
start that follows, within SWAP_WINDOW_S, the stop of another tier of the same profile (the
supervisor stops the partner first); a restart is a start that follows a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

SWAP_WINDOW_S = 30.0
MARKER_COLORS = {
    "start": (0, 158, 115),
    "swap": (0, 114, 178),
    "crash": (213, 94, 0),
    "restart": (230, 159, 0),
}


@dataclass(frozen=True)
class Marker:
    t: float  # epoch seconds, like the store's time column
    kind: str  # start | swap | crash | restart
    tier: str
    text: str  # what hovering shows: what happened and why


class MarkerLog:
    """The markers of the last `keep` events, oldest first."""

    def __init__(self, keep: int = 200):
        self.keep = keep
        self.markers: list[Marker] = []
        self._stopped: dict[str, tuple[str, float]] = {}  # profile -> (tier, when) of the last stop
        self._crash: dict[str, str] = {}  # "profile/tier" -> why it crashed

    def on_state(self, profile: str, tier: str, state: str, previous: str, reason: str,
                 t: float) -> Marker | None:
        key = f"{profile}/{tier}"
        m: Marker | None = None
        if state == "starting" and previous == "crashed":
            why = self._crash.pop(key, "") or reason
            m = Marker(t, "restart", tier, f"{tier} restarted" + (f" after: {why}" if why else ""))
        elif state == "starting":
            last = self._stopped.get(profile)
            if last is not None and last[0] != tier and t - last[1] <= SWAP_WINDOW_S:
                m = Marker(t, "swap", tier, f"swap {last[0]} → {tier}")
            else:
                m = Marker(t, "start", tier, f"{tier} started")
        elif state == "crashed":
            self._crash[key] = reason
            m = Marker(t, "crash", tier, f"{tier} crashed" + (f": {reason}" if reason else ""))
        elif state == "failed":
            m = Marker(t, "crash", tier, f"{tier} failed to start" + (f": {reason}" if reason else ""))
        elif state == "stopped" and previous in ("ready", "stopping", "starting"):
            self._stopped[profile] = (tier, t)
        if m is not None:
            self.markers.append(m)
            del self.markers[:-self.keep]
        return m

    def near(self, t: float, within_s: float) -> list[Marker]:
        return [m for m in self.markers if abs(m.t - t) <= within_s]
