"""Try it: ask a demo tier (a real llama-server on the demo's real model) and watch the
answer stream in with its figures; thinking goes to its own collapsed box."""

from __future__ import annotations

import re

import pytest

from tierdeck.core.ask import TEXT, THINKING


@pytest.mark.real_model
def test_ask_a_demo_tier_and_see_it_stream(live, window, qtbot):
    assert "SmolLM2" in str(window.profile.tiers["haiku"].model_path)  # the real demo model
    try_it = window.try_it
    window.tabs.setCurrentWidget(try_it)
    window.tiers.select("haiku")
    assert not try_it.send_button.isEnabled() and "not running" in try_it.title.text()
    window.activate_tier("haiku")
    qtbot.waitUntil(lambda: try_it.send_button.isEnabled(), timeout=60000)

    # Few tokens: on a CPU shared with other work llama-server can drop below 1 token/s
    # (its threads wait on each other); the bounds below are for liveness only.
    try_it.max_tokens.setValue(16)
    pieces = []
    with qtbot.waitSignal(try_it.answered, timeout=120000) as done:
        task = try_it.ask("Name three colors.")
        task.progress.connect(pieces.append)
        qtbot.waitUntil(lambda: try_it.stop_button.isEnabled())
    result = done.args[0]
    assert len(pieces) > 1, "the answer arrived in pieces, not at once"
    text = try_it.answer.toPlainText()
    assert text == result.text and re.search(r"[A-Za-z]{3,} [A-Za-z]{2,}|Red|Blue|Green", text), text
    assert result.gen_tps and result.gen_tps > 0 and result.ttft_s is not None
    assert re.search(r"first token \d+ ms · \d+ tokens · [\d.]+ tok/s", try_it.stats.text())
    assert not try_it.thinking_toggle.isVisibleTo(try_it)  # SmolLM2's template never thinks
    assert not try_it.stop_button.isEnabled() and try_it.send_button.isEnabled()

    # Stop mid-answer: the stream is closed, nothing is reported as an error
    try_it.max_tokens.setValue(400)
    with qtbot.waitSignal(try_it.failed, timeout=120000) as stopped:
        try_it.ask("Write a long story about the sea.")
        qtbot.waitUntil(lambda: len(try_it.answer.toPlainText()) > 20, timeout=90000)
        try_it.stop_button.click()
    assert stopped.args == ["cancelled"] and try_it.stats.text() == "stopped"
    assert try_it.send_button.isEnabled()


def test_thinking_is_shown_apart_and_collapsed(window, qtbot):
    try_it = window.try_it
    window.tabs.setCurrentWidget(try_it)
    try_it._on_delta((THINKING, "The user wants colours."))
    try_it._on_delta((TEXT, "Red, blue"))
    assert try_it.thinking_toggle.isVisibleTo(try_it) and not try_it.thinking_box.isVisibleTo(try_it)
    assert try_it.thinking_toggle.text() == "Thinking (23 characters)"
    assert try_it.answer.toPlainText() == "Red, blue"  # the answer box has no thinking in it
    try_it.thinking_toggle.click()
    assert try_it.thinking_box.isVisibleTo(try_it)
    assert try_it.thinking_box.toPlainText() == "The user wants colours."
