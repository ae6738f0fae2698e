"""`tierdeck ask` end to end: a real llama-server on the demo's real model answers in English,
streamed to stdout, with its figures on stderr."""

from __future__ import annotations

import re

import pytest

from tests.cli.test_servers_cli import cli_env, run  # noqa: F401 - the fixture
from tests.core.servers.conftest import make_profile
from tierdeck.core.demo import SMOLLM2_TOKEN


@pytest.fixture
def smol_profile(tmp_path):
    tier = {"model": SMOLLM2_TOKEN, "ctx_per_slot": 1024, "parallel": 1, "threads": 2,
            "port": "auto", "alias": "smol"}
    make_profile(tmp_path, {"haiku": tier}, name="smol")
    return tmp_path / "smol.yaml"


def test_ask_streams_an_english_answer(capsys, cli_env, smol_profile):  # noqa: F811
    rc, _, err = run(capsys, "up", str(smol_profile), "haiku")
    assert rc == 0, err
    rc, out, err = run(capsys, "ask", "haiku", "What is the capital of France? Answer in one sentence.",
                       "--profile", str(smol_profile), "--max-tokens", "40", "--temperature", "0")
    assert rc == 0, err
    assert "Paris" in out  # a real model, not the gibberish one
    figures = re.search(r"\[haiku\] first token (\d+) ms · (\d+) tokens · ([\d.]+) tok/s", err)
    assert figures, err
    assert int(figures[2]) > 1 and float(figures[3]) > 0


def test_ask_a_tier_that_is_not_running(capsys, cli_env, smol_profile):  # noqa: F811
    rc, out, err = run(capsys, "ask", "haiku", "hello", "--profile", str(smol_profile))
    assert rc == 2 and out == ""
    assert "haiku is not running: tierdeck up smol haiku" in err
