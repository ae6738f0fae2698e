"""Tier cards of the demo profile say which tiers share an engine before anything runs."""

from __future__ import annotations


def test_shared_tiers_cards_say_so_with_nothing_running(window, qtbot):
    assert window.gateway.latest is None or not window.gateway.latest.running
    cards = window.tiers.cards
    haiku = cards["haiku"]
    qtbot.waitUntil(lambda: haiku.gateway.isVisibleTo(haiku), timeout=5000)
    assert haiku.gateway.text() == "shares engine haiku+sonnet with sonnet"
    assert cards["sonnet"].gateway.text() == "shares engine haiku+sonnet with haiku"
    assert not cards["long"].gateway.isVisibleTo(cards["long"])
    assert cards["long"].gateway.text() == ""
