from __future__ import annotations

from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.shell.tray import Tray


def test_tray_menu_lists_tiers_with_states_and_switches(window, monkeypatch):
    tray = Tray(window)  # built even where no tray is shown (offscreen), to check its menu
    tray.set_profile(window.profile)
    tray.set_statuses({"haiku": ServerStatus("haiku", "demo", "ready")})
    texts = [a.text() for a in tray.menu.actions()]
    assert "haiku  [ready]" in texts and "sonnet  [stopped]" in texts
    assert not any(t.startswith("opus") for t in texts)  # remote: nothing to switch to
    assert {"Show TierDeck", "Stop all", "Quit"} <= set(texts)
    asked = []
    monkeypatch.setattr(window, "activate_tier", asked.append)
    sonnet = next(a for a in tray.menu.actions() if a.text().startswith("sonnet"))
    haiku = next(a for a in tray.menu.actions() if a.text().startswith("haiku"))
    assert not haiku.isEnabled()  # already running
    sonnet.trigger()
    assert asked == ["sonnet"]
    tray.hide()
