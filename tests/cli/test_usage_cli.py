"""`tierdeck usage` over a real ledger file in the isolated user folders."""

import json
import time

from tests.core.gateway.test_ledger import rec
from tierdeck.cli import main
from tierdeck.core.gateway.ledger import Ledger


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def fill() -> None:
    led = Ledger(rollup_every_s=None)
    now = time.time()
    led.record(rec("haiku", ts=now - 600, prompt=2000, completion=500))
    led.record(rec("haiku", ts=now - 3 * 86400, prompt=1000, completion=100))
    led.record(rec("sonnet", ts=now - 60, prompt=4000, completion=1000))
    assert led.flush(10)
    led.close()


def test_usage_json_has_exactly_the_promised_shape(capsys):
    fill()
    rc, out, _ = run(capsys, "usage", "--json")
    assert rc == 0
    assert json.loads(out) == {"tiers": {
        "haiku": {"requests": 2, "input_tokens": 3000, "output_tokens": 600,
                  "cost_avoided_usd": 0.006},
        "sonnet": {"requests": 1, "input_tokens": 4000, "output_tokens": 1000,
                   "cost_avoided_usd": 0.027},
    }}
    rc, out, _ = run(capsys, "usage", "--since", "1d", "--json")
    assert json.loads(out)["tiers"]["haiku"]["requests"] == 1


def test_usage_table_and_profile_prices(capsys, tmp_path):
    fill()
    rc, out, _ = run(capsys, "usage", "--since", "2h")
    lines = out.splitlines()
    assert rc == 0 and lines[0].split() == ["tier", "requests", "input", "tok", "output", "tok",
                                            "cost", "avoided"]
    assert lines[1].split() == ["haiku", "1", "2,000", "500", "$0.00"]
    assert lines[3].split()[:2] == ["total", "2"]
    prof = tmp_path / "priced.yaml"
    prof.write_text("tiers:\n  haiku:\n    model: builtin:demo\n"
                    "    price: {input: 1000, output: 1000}\n")
    rc, out, _ = run(capsys, "usage", "--json", "--profile", str(prof))
    assert json.loads(out)["tiers"]["haiku"]["cost_avoided_usd"] == 3.6


def test_usage_empty_and_bad_since(capsys):
    rc, out, _ = run(capsys, "usage")
    assert rc == 0 and "no requests through the gateway" in out
    rc, _, err = run(capsys, "usage", "--since", "yesterday")
    assert rc == 2 and "--since 'yesterday'" in err and "Traceback" not in err


def test_usage_says_a_damaged_settings_file_as_every_command_does(capsys):
    from tierdeck.core.settings import Settings

    fill()
    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text('{"last_profile": "demo",')  # cut short
    rc, out, err = run(capsys, "usage", "--json")
    assert rc == 0 and json.loads(out)["tiers"]["haiku"]["requests"] == 2
    assert err.count("warning:") == 1 and "using default settings" in err
