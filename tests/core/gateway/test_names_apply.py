"""Model names to tiers, and a tier's settings written into request bodies."""

import textwrap

from tierdeck.core.gateway.apply import apply_tier, max_tokens_of
from tierdeck.core.gateway.names import ModelMap
from tierdeck.core.profiles import profile_from_text
from tierdeck.core.profiles.schema import Tier


def prof(tmp_path, extra=""):
    return profile_from_text(textwrap.dedent("""\
        defaults: {model: builtin:demo}
        tiers:
          haiku: {alias: local-haiku, thinking: false}
          sonnet: {alias: local-sonnet, thinking: true}
          scratch: {slot: none}
          opus: {kind: remote, model: claude-opus-4-7}
        """) + textwrap.dedent(extra), tmp_path / "p.yaml")


def test_names_tiers_aliases_and_real_claude_ids(tmp_path):
    m = ModelMap(prof(tmp_path))
    cases = {
        "haiku": "haiku", "local-sonnet": "sonnet", "LOCAL-HAIKU": "haiku",
        "local-scratch": "scratch", "claude-opus-4-7": "opus",
        "claude-haiku-4-5-20251001": "haiku", "claude-haiku-4-5": "haiku",
        "claude-sonnet-4-5": "sonnet", "claude-sonnet-4-5[1m]": "sonnet",
        "claude-opus-4-1": "opus", "claude-3-5-haiku-latest": "haiku",
        "claude-3-7-sonnet-20250219": "sonnet", "local-haiku[1m]": "haiku",
    }
    for name, tier in cases.items():
        assert m.resolve(name) == tier, name
    for bad in ("gpt-4o", "", None, 12, "claude-instant", "haikus"):
        assert m.resolve(bad) is None, bad
    assert "local-haiku" in m.known() and "claude-opus-4-7" in m.known()


def test_profile_model_map_wins(tmp_path):
    p = prof(tmp_path, """\
        model_map:
          claude-opus-4-1: sonnet
          my-coder: scratch
        """)
    m = ModelMap(p)
    assert m.resolve("claude-opus-4-1") == "sonnet"
    assert m.resolve("claude-opus-4-5") == "opus"  # other opus ids still by family
    assert m.resolve("my-coder") == "scratch"


def test_model_map_to_unknown_tier_names_line(tmp_path):
    import pytest

    from tierdeck.core.profiles import ProfileError

    with pytest.raises(ProfileError) as ei:
        prof(tmp_path, "model_map:\n  x: nobody\n")
    assert ei.value.issues[0].key == "model_map.x" and ei.value.issues[0].line == 8


def test_thinking_merged_into_client_kwargs():
    t = Tier("haiku", thinking=False)
    body = {"chat_template_kwargs": {"custom": 1}}
    apply_tier(body, t, "openai")
    assert body["chat_template_kwargs"] == {"custom": 1, "enable_thinking": False}
    body = {"chat_template_kwargs": {"enable_thinking": True, "x": 2}}
    apply_tier(body, t, "openai")  # the client's explicit kwarg stays
    assert body["chat_template_kwargs"] == {"enable_thinking": True, "x": 2}
    body = {"thinking": {"type": "disabled"}}
    apply_tier(body, Tier("x"), "anthropic")  # the server ignores "disabled": say it in kwargs
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    body = {}
    apply_tier(body, Tier("x"), "anthropic")
    assert body == {}


def test_budget_cap_and_sampling():
    t = Tier("sonnet", thinking=True, reasoning_budget=512, max_tokens=100,
             sampling={"temperature": 0.6, "top_k": 20})
    body = {"max_tokens": 4000, "temperature": 0.0, "thinking": {"type": "enabled", "budget_tokens": 9000}}
    apply_tier(body, t, "anthropic")
    assert body["max_tokens"] == 100 and body["temperature"] == 0.0 and body["top_k"] == 20
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 512}
    body = {"max_completion_tokens": 50}
    apply_tier(body, t, "openai")
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert body["thinking_budget_tokens"] == 512
    body = {}
    apply_tier(body, t, "openai")
    assert body["max_tokens"] == 100 and max_tokens_of(body, "openai") == 100
    body = {"thinking": {"type": "enabled", "budget_tokens": 10}}
    apply_tier(body, Tier("haiku", thinking=False), "anthropic")
    assert "thinking" not in body and body["chat_template_kwargs"]["enable_thinking"] is False
    assert max_tokens_of({}, "anthropic") == 4096 and max_tokens_of({}, "openai") is None
