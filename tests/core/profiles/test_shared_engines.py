"""Shared groups: one engine Tier for several tiers of one GGUF, swap groups over engines."""

import textwrap
from pathlib import Path

import pytest

from tierdeck.core.profiles import ProfileError, profile_from_text
from tierdeck.core.profiles.engines import resolve_engines
from tierdeck.core.resources import chat_template_path
from tierdeck.core.servers.cmdline import Features, build_command

SHARED = """\
    defaults: {model: builtin:demo, flash_attn: "off"}
    tiers:
      haiku: {thinking: false, parallel: 2, ctx_per_slot: 2048, cache_type: q4_0, port: 9100}
      sonnet: {thinking: true, reasoning_budget: 256, ctx_per_slot: 8192, cache_type: q8_0}
      scratch: {slot: none}
      opus: {kind: remote, model: claude-opus-4-7}
    groups:
      - {mode: shared, tiers: [haiku, sonnet]}
      - {mode: swap, tiers: [sonnet, scratch], default: haiku}
    """


def parse(text: str, tmp_path: Path):
    return profile_from_text(textwrap.dedent(text), tmp_path / "p.yaml")


def test_engine_covers_its_tiers(tmp_path):
    p = parse(SHARED, tmp_path)
    e = p.tier("haiku+sonnet")
    assert e.is_engine and e.members == ["haiku", "sonnet"]
    assert (e.parallel, e.ctx_per_slot, e.kv_unified) == (3, 8192, True)
    assert (e.cache_type_k, e.cache_type_v) == ("q8_0", "q8_0")  # the more precise one
    assert e.thinking is None and e.reasoning_budget is None  # per request, not flags
    assert e.alias == "local-haiku,local-sonnet" and e.port == 9100
    assert p.tiers["haiku"].thinking is False  # the tiers themselves are untouched
    assert "haiku+sonnet" not in p.tiers


def test_engine_names_in_swap_partners_defaults_and_resolver(tmp_path):
    p = parse(SHARED, tmp_path)
    assert p.engine_of("haiku") == p.engine_of("sonnet") == "haiku+sonnet"
    assert p.engine_of("scratch") == "scratch"
    assert p.swap_partners("haiku") == ["scratch"]  # haiku stands for its engine
    assert p.swap_partners("haiku+sonnet") == ["scratch"]
    assert p.swap_partners("scratch") == ["haiku+sonnet"]
    assert p.default_tiers() == ["haiku+sonnet"]
    assert resolve_engines(p, ["sonnet", "haiku", "scratch"]) == ["haiku+sonnet", "scratch"]
    assert resolve_engines(p, None) is None


def test_engine_command_line(tmp_path):
    p = parse(SHARED, tmp_path)
    feats = Features(frozenset({"--jinja", "--reasoning", "--reasoning-budget"}))
    argv = build_command(p.tier("haiku+sonnet"), Path("llama-server"), 9100, feats).argv
    assert argv[argv.index("-np") + 1] == "3" and "-kvu" in argv
    assert argv[argv.index("-c") + 1] == "8192"  # one pool any slot may fill, not 3 x 8192
    p2 = parse(SHARED.replace("{mode: shared, tiers: [haiku, sonnet]}",
                              "{mode: shared, tiers: [haiku, sonnet], ctx_pool: 16K}"), tmp_path)
    argv = build_command(p2.tier("haiku+sonnet"), Path("llama-server"), 9100, feats).argv
    assert argv[argv.index("-c") + 1] == "16384"
    assert "--reasoning" not in argv and "--reasoning-budget" not in argv
    assert argv[argv.index("--alias") + 1] == "local-haiku,local-sonnet"


@pytest.mark.parametrize("groups, key, words", [
    ("[{mode: shared, tiers: [haiku, opus]}]", "groups[0].tiers", "remote"),
    ("[{mode: shared, tiers: [haiku]}]", "groups[0].tiers", "at least two"),
    ("[{mode: shared, tiers: [haiku, other]}]", "groups[0].tiers", "one GGUF"),
    ("[{mode: shared, tiers: [haiku, sonnet]}, {mode: swap, tiers: [haiku, sonnet]}]",
     "groups[1].tiers", "cannot swap"),
    ("[{mode: shared, tiers: [haiku, sonnet]}, {mode: shared, tiers: [sonnet, other]}]",
     "groups[1].tiers", "already in shared group"),
])
def test_bad_shared_groups_name_the_key(tmp_path, groups, key, words):
    text = f"""\
        defaults: {{model: builtin:demo}}
        tiers:
          haiku: {{}}
          sonnet: {{}}
          other: {{model: /elsewhere/model.gguf}}
          opus: {{kind: remote, model: claude-opus-4-7}}
        groups: {groups}
        """
    with pytest.raises(ProfileError) as ei:
        parse(text, tmp_path)
    assert any(i.key == key and words in i.message and i.line == 7 for i in ei.value.issues), \
        ei.value.issues


def test_differing_startup_settings_warn(tmp_path):
    p = parse("""\
        defaults: {model: builtin:demo}
        tiers:
          a: {threads: 2}
          b: {threads: 4}
        groups: [{mode: shared, tiers: [a, b]}]
        """, tmp_path)
    assert any("threads differs" in w for w in p.warnings)
    assert p.tier("a+b").threads == 2


def test_chat_template_file_builtin_and_relative(tmp_path):
    p = parse("""\
        defaults: {model: builtin:demo}
        tiers:
          a: {chat_template_file: builtin:qwen3-thinking}
          b: {chat_template_file: tmpl/mine.jinja}
        """, tmp_path)
    assert p.tiers["a"].chat_template_file == str(chat_template_path("qwen3-thinking"))
    assert Path(p.tiers["a"].chat_template_file).is_file()
    assert p.tiers["b"].chat_template_file == str(tmp_path / "tmpl/mine.jinja")
    argv = build_command(p.tiers["a"], Path("llama-server"), 1, Features()).argv
    assert argv[argv.index("--chat-template-file") + 1] == p.tiers["a"].chat_template_file
    with pytest.raises(ProfileError, match="no built-in chat template"):
        parse("tiers:\n  a: {model: builtin:demo, chat_template_file: builtin:nope}\n", tmp_path)


def test_sampling_and_max_tokens_keys(tmp_path):
    p = parse("""\
        tiers:
          a: {model: builtin:demo, max_tokens: 512, sampling: {temperature: 0.6, top_k: 20}}
        """, tmp_path)
    assert p.tiers["a"].max_tokens == 512 and p.tiers["a"].sampling == {"temperature": 0.6, "top_k": 20}
    with pytest.raises(ProfileError, match="unknown sampling key"):
        parse("tiers:\n  a: {model: builtin:demo, sampling: {temp: 1}}\n", tmp_path)
