from __future__ import annotations

from tierdeck.core.paths import app_dirs, ensure_dir

PROFILE = """\
# a profile whose model is not downloaded yet
name: missing-model
tiers:
  sonnet:
    model: /nowhere/model-that-is-not-there.gguf
    ctx_per_slot: 4096
"""


def test_starting_a_tier_without_its_model_says_why_on_the_card(window, qtbot):
    (ensure_dir(app_dirs().profiles) / "missing-model.yaml").write_text(PROFILE)
    window.picker.reload(select="missing-model")
    qtbot.waitUntil(lambda: window.profile.name == "missing-model", timeout=10000)
    card = window.tiers.cards["sonnet"]
    card.primary.click()
    qtbot.waitUntil(lambda: card.model.state == "failed", timeout=10000)
    assert "model file not found" in card.state.text()
    assert "model-that-is-not-there.gguf" in card.state.text()
    assert "missing-model.yaml:5" in card.state.text()  # file:line of the model key
