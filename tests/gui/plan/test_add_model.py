from __future__ import annotations

from tierdeck.core.profiles import load_profile
from tierdeck.core.settings import Settings
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.plan.add_model_dialog import AddModelDialog


def test_add_model_shows_facts_suggests_a_tier_and_saves_a_profile(qtbot, tiny_model):
    runner = TaskRunner()
    dlg = AddModelDialog(runner, Settings(), None)
    qtbot.addWidget(dlg)
    dlg.path.setText(str(tiny_model))
    with qtbot.waitSignal(dlg.suggested, timeout=20000) as sig:
        dlg.load(str(tiny_model))
    assert "llama" in dlg.facts_label.text() and "trained context 4096" in dlg.facts_label.text()
    assert sig.args[0].startswith("Suggested for")
    assert dlg.name.text() == "tiny"
    dlg.tier.setCurrentText("haiku")
    dlg.thinking.setCurrentIndex(2)  # off
    dlg.save()
    assert dlg.result() == dlg.DialogCode.Accepted
    prof = load_profile("tiny")
    t = prof.tiers["haiku"]
    assert t.model_path == tiny_model and t.alias == "local-haiku" and t.thinking is False
    assert t.ctx_per_slot == dlg.fit.best.ctx_per_slot
    # a second save under the same name does not overwrite it
    dlg.save()
    assert "exists" in dlg.error.text()
    runner.wait()


def test_unreadable_file_is_one_line(qtbot, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf")
    runner = TaskRunner()
    dlg = AddModelDialog(runner, Settings(), None)
    qtbot.addWidget(dlg)
    dlg.load(str(bad))
    qtbot.waitUntil(lambda: bool(dlg.error.text()), timeout=10000)
    assert "\n" not in dlg.error.text()
    runner.wait()
