import os
import textwrap
from pathlib import Path

import pytest

from tierdeck.core.paths import app_dirs
from tierdeck.core.profiles import (
    ProfileEditor,
    ProfileError,
    check_startable,
    list_profiles,
    load_profile,
    profile_from_text,
)
from tierdeck.core.resources import builtin_profiles_dir


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def parse(text: str, tmp_path: Path):
    return profile_from_text(textwrap.dedent(text), tmp_path / "p.yaml")


def errors_of(text: str, tmp_path: Path) -> list:
    with pytest.raises(ProfileError) as ei:
        parse(text, tmp_path)
    return ei.value.issues


def test_builtin_profiles_load_and_have_the_promised_settings():
    names = {e.name: e for e in list_profiles()}
    for n in ("rtx3090ti-qwen3.6-35b-a3b", "m1max-64gb-qwen3.6-35b-a3b", "demo"):
        assert names[n].ok, names[n].error
        assert names[n].source == "builtin"
    rtx = names["rtx3090ti-qwen3.6-35b-a3b"].profile
    haiku = rtx.tiers["haiku"]
    assert (haiku.thinking, haiku.parallel, haiku.ctx_per_slot) == (False, 2, 32768)
    assert (haiku.cache_type_k, haiku.cache_type_v) == ("q8_0", "q8_0")
    assert rtx.tiers["sonnet"].thinking is True
    assert rtx.tiers["sonnet"].model_path == haiku.model_path  # one GGUF, two tiers
    assert rtx.tiers["opus"].is_remote
    # one GGUF, one engine: 3 slots on one unified 64K pool, thinking left to each request
    eng = rtx.tier(rtx.engine_of("haiku"))
    assert rtx.engine_of("sonnet") == eng.name == "haiku+sonnet"
    assert (eng.parallel, eng.ctx_per_slot, eng.kv_unified, eng.thinking) == (3, 65536, True, None)
    assert rtx.default_tiers() == ["haiku+sonnet"]
    assert not [w for w in rtx.warnings if "differs" in w]  # the tiers agree on startup keys
    m1p = names["m1max-64gb-qwen3.6-35b-a3b"].profile
    m1 = m1p.tiers["sonnet"]
    assert (m1.ctx_per_slot, m1.cache_type_k, m1.flash_attn, m1.batch, m1.ubatch) == (
        65536, "bf16", "on", 4096, 2048)
    assert m1p.default_tiers() == ["haiku+sonnet"]
    demo = names["demo"].profile
    assert len(demo.local_tiers) >= 2 and demo.engine_of("haiku") == demo.engine_of("sonnet")
    assert demo.swap_partners("haiku") == ["long"] and demo.swap_partners("long") == ["haiku+sonnet"]
    assert demo.default_tiers() == ["haiku+sonnet", "scratch"]


def test_missing_model_is_a_warning_not_unlistable_and_up_refuses(tmp_path):
    prof = parse("""\
        tiers:
          fast:
            model: /nowhere/model.gguf
        """, tmp_path)
    assert any("model file not found" in w and ":3:" in w for w in prof.warnings)
    with pytest.raises(ProfileError, match=r"p.yaml:3: tiers.fast.model: model file not found"):
        check_startable(prof, prof.tiers["fast"])


def test_unknown_key_names_file_line_and_key(tmp_path):
    issues = errors_of("""\
        tiers:
          fast:
            model: builtin:demo
            paralel: 2
        """, tmp_path)
    assert len(issues) == 1
    msg = str(issues[0])
    assert issues[0].line == 4 and issues[0].key == "tiers.fast.paralel"
    assert msg.startswith(f"{tmp_path / 'p.yaml'}:4: tiers.fast.paralel: unknown key")


def test_wrong_type_names_line_and_key(tmp_path):
    issues = errors_of("""\
        tiers:
          fast:
            model: builtin:demo
            parallel: two
            ctx_per_slot: lots
            thinking: maybe
            extra_args: "--temp 0.6"
        """, tmp_path)
    got = {(i.line, i.key) for i in issues}
    assert got == {(4, "tiers.fast.parallel"), (5, "tiers.fast.ctx_per_slot"),
                   (6, "tiers.fast.thinking"), (7, "tiers.fast.extra_args")}
    assert "whole number" in str(issues[0])


def test_missing_model_key(tmp_path):
    issues = errors_of("tiers:\n  fast:\n    parallel: 2\n", tmp_path)
    assert issues[0].key == "tiers.fast.model" and "missing" in issues[0].message


def test_duplicate_port_error_but_swap_partners_may_share(tmp_path):
    issues = errors_of("""\
        defaults: {model: builtin:demo}
        tiers:
          a: {port: 9001}
          b: {port: 9001}
        """, tmp_path)
    assert issues[0].key == "tiers.b.port" and issues[0].line == 4
    assert "duplicate port 9001" in issues[0].message
    prof = parse("""\
        defaults: {model: builtin:demo}
        tiers:
          a: {port: 9001}
          b: {port: 9001}
        groups:
          - {mode: swap, tiers: [a, b]}
        """, tmp_path)
    assert prof.tiers["b"].port == 9001


def test_yaml_syntax_error_has_line(tmp_path):
    issues = errors_of("tiers:\n  a: [1, 2\n  b: 3\n", tmp_path)
    assert issues[0].line >= 2 and "not valid YAML" in issues[0].message


def test_values_and_defaults(tmp_path):
    prof = parse("""\
        models:
          m: builtin:demo
        defaults:
          model: m
          cache_type: q8_0
          flash_attn: on
        tiers:
          haiku:
            ctx_per_slot: 32K
            parallel: 2
            port: auto
            extra_args: [--temp, 0.6]
            env: {CUDA_VISIBLE_DEVICES: 0}
            restart: on
          special:
            model: m
            cache_type_v: f16
            slot: none
            ngl: all
          opus:
            kind: remote
            model: claude-opus-4-7
        """, tmp_path)
    h = prof.tiers["haiku"]
    assert h.ctx_per_slot == 32768 and h.ctx_total == 65536 and h.port is None
    assert h.extra_args == ["--temp", "0.6"] and h.env == {"CUDA_VISIBLE_DEVICES": "0"}
    assert h.alias == "local-haiku" and h.slot == "haiku" and h.restart == "on"
    assert h.flash_attn == "on" and h.cache_type_k == h.cache_type_v == "q8_0"
    s = prof.tiers["special"]
    assert s.slot is None and s.cache_type_k == "q8_0" and s.cache_type_v == "f16" and s.ngl == "all"
    o = prof.tiers["opus"]
    assert o.is_remote and o.alias == "claude-opus-4-7" and o.base_url.startswith("https://")
    assert prof.default_tiers() == ["haiku", "special"]


def test_remote_tier_rejects_local_settings(tmp_path):
    issues = errors_of("tiers:\n  opus:\n    kind: remote\n    model: x\n    parallel: 2\n", tmp_path)
    assert issues[0].key == "tiers.opus.parallel" and "remote" in issues[0].message


def test_group_errors(tmp_path):
    issues = errors_of("""\
        defaults: {model: builtin:demo}
        tiers: {a: {}, b: {}}
        groups:
          - {mode: swop, tiers: [a, b]}
          - {mode: swap, tiers: [a, zz]}
        """, tmp_path)
    keys = [i.key for i in issues]
    assert "groups[0].mode" in keys and "groups[1].tiers" in keys


def test_user_profile_overrides_builtin_by_name():
    write(app_dirs().profiles, "mydemo.yaml", """\
        name: demo
        description: my own demo
        tiers:
          only: {model: builtin:demo}
        """)
    entries = {e.name: e for e in list_profiles()}
    assert entries["demo"].source == "user"
    assert entries["demo"].overrides == builtin_profiles_dir() / "demo.yaml"
    assert load_profile("demo").description == "my own demo"


def test_broken_user_profile_is_listed_with_its_error():
    write(app_dirs().profiles, "broken.yaml", "tiers:\n  a:\n    model: builtin:demo\n    port: x\n")
    e = {e.name: e for e in list_profiles()}["broken"]
    assert not e.ok and ":4: tiers.a.port:" in str(e.error)
    with pytest.raises(ProfileError):
        load_profile("broken")
    with pytest.raises(ProfileError, match="no profile named 'nope'"):
        load_profile("nope")


def test_edit_keeps_comments_and_order_and_writes_atomically():
    text = """\
        # my setup, do not lose this comment
        name: mine
        tiers:
          # the fast one
          haiku:
            model: builtin:demo   # tiny
            parallel: 2
          sonnet:
            model: builtin:demo
        """
    p = write(app_dirs().profiles, "mine.yaml", text)
    ed = ProfileEditor.open(load_profile("mine"))
    ed.set_tier("haiku", "parallel", 4)
    ed.set_tier("haiku", "ctx_per_slot", 8192)
    prof = ed.save()
    out = p.read_text()
    assert "# my setup, do not lose this comment" in out and "# the fast one" in out
    assert "# tiny" in out
    assert out.index("haiku:") < out.index("sonnet:")
    assert out.index("parallel: 4") < out.index("ctx_per_slot: 8192")
    assert prof.tiers["haiku"].parallel == 4
    assert not [f for f in os.listdir(p.parent) if f.endswith(".tmp")]


def test_invalid_edit_is_refused_and_file_untouched():
    p = write(app_dirs().profiles, "mine.yaml", "tiers:\n  a:\n    model: builtin:demo\n")
    before = p.read_text()
    ed = ProfileEditor.open(p)
    ed.set_tier("a", "parallel", "many")
    with pytest.raises(ProfileError, match="tiers.a.parallel"):
        ed.save()
    assert p.read_text() == before


def test_editing_a_builtin_profile_writes_a_user_copy():
    ed = ProfileEditor.open(load_profile("demo"))
    ed.set_tier("haiku", "parallel", 3)
    prof = ed.save()
    assert prof.path == app_dirs().profiles / "demo.yaml"
    assert load_profile("demo").tiers["haiku"].parallel == 3
    assert "parallel: 3" not in (builtin_profiles_dir() / "demo.yaml").read_text()
    assert prof.path.read_text().startswith("# Demo: ")  # the comments came along
