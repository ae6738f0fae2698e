from __future__ import annotations


def test_window_opens_on_the_demo_profile(window, qtbot):
    assert list(window.tiers.cards) == list(window.profile.tiers)
    assert "haiku" in window.tiers.cards
    card = window.tiers.cards["haiku"]
    assert card.model is not None and card.model.state == "stopped"
    assert card.model.alias == "demo-haiku"
    assert "2 × 1K" in card.model.details
    qtbot.waitUntil(lambda: window.devices.detection is not None, timeout=10000)
    assert window.devices.detection.devices
