import json
import os
import stat

import pytest

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.settings import Settings, SettingsError
from tierdeck.core.units import GiB, MiB, fmt_bytes, parse_size


@pytest.mark.parametrize(
    ("text", "value"),
    [("24GiB", 24 * GiB), ("24G", 24 * GiB), ("24GB", 24 * 10**9), ("1536M", 1536 * MiB),
     ("0.5 GiB", GiB // 2), ("1000", 1000), (4096, 4096)],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["", "GiB", "12 parsecs", "-3G", "1e9"])
def test_parse_size_rejects_with_examples(bad):
    with pytest.raises(ValueError, match="examples"):
        parse_size(bad)


def test_fmt_bytes():
    assert fmt_bytes(21.3 * GiB) == "21.3 GiB"
    assert fmt_bytes(512 * MiB) == "512.0 MiB"
    assert fmt_bytes(-2 * GiB) == "-2.0 GiB"
    assert fmt_bytes(None) == "?"


def test_app_dirs_follow_tierdeck_home(tierdeck_home):
    d = app_dirs()
    assert d.config == tierdeck_home / "config" and d.profiles == tierdeck_home / "config/profiles"
    made = ensure_dir(d.state)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "p.yaml"
    atomic_write_text(target, "old: 1\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new: 2\n")
    assert target.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]  # no temp file left behind


def test_settings_round_trip_keeps_unknown_keys():
    s = Settings.load()
    assert s.reserve_mib == 1024 and s.on_quit == "ask"
    s.llama_server = "/opt/llama/llama-server"
    s.extra = {"from_a_newer_version": True}
    s.save()
    raw = json.loads(Settings.path().read_text())
    assert raw["from_a_newer_version"] is True
    again = Settings.load()
    assert again.llama_server == "/opt/llama/llama-server" and again.extra == s.extra


def test_settings_errors_name_the_file():
    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text("{broken")
    with pytest.raises(SettingsError, match="settings.json"):
        Settings.load()
    Settings.path().write_text('{"on_quit": "explode"}')
    with pytest.raises(SettingsError, match="on_quit"):
        Settings.load()


@pytest.mark.parametrize(("key", "value"), [
    ("reserve_mib", "2048"), ("reserve_mib", -1), ("reserve_mib", True),
    ("sample_interval_s", 0), ("sample_interval_s", "1"), ("close_to_tray", "yes"),
    ("gateway_keep_running", 1), ("llama_server", 42), ("on_quit", "explode"),
])
def test_settings_with_a_wrong_type_name_file_and_key(key, value):
    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text(json.dumps({key: value}))
    with pytest.raises(SettingsError, match=rf"settings\.json: {key} must"):
        Settings.load()


def test_settings_accept_what_the_dialog_writes():
    Settings(reserve_mib=0, sample_interval_s=0.2, llama_server=None, close_to_tray=False).save()
    s = Settings.load()
    assert (s.reserve_mib, s.sample_interval_s, s.close_to_tray) == (0, 0.2, False)
