"""/metrics and /slots as this llama.cpp build prints them, and the rate arithmetic."""

from __future__ import annotations

import pytest

from tierdeck.core.metrics import MetricsParseError, parse_metrics, parse_slots
from tierdeck.core.metrics.scraper import _rate

# The shape of llama-server's to_metrics(): HELP/TYPE lines, `llamacpp:` names with a colon.
METRICS = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 120
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 3456
# HELP llamacpp:n_decode_total Total number of llama_decode() calls
# TYPE llamacpp:n_decode_total counter
llamacpp:n_decode_total 900
# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s
# TYPE llamacpp:predicted_tokens_seconds gauge
llamacpp:predicted_tokens_seconds 77.5
# HELP llamacpp:requests_processing Number of requests processing
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1
# HELP llamacpp:spec_decode_num_accepted_tokens_per_pos_total Accepted tokens per draft position
# TYPE llamacpp:spec_decode_num_accepted_tokens_per_pos_total counter
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{pos="0"} 5
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{pos="1"} 3
"""


def test_counter_names_keep_colon_and_total_suffix():
    m = parse_metrics(METRICS)
    # The parser names the counter *family* without _total; samples keep the printed name.
    assert m["tokens_predicted_total"] == 3456
    assert m["prompt_tokens_total"] == 120
    assert m["requests_processing"] == 2
    assert m["requests_deferred"] == 1
    assert m["predicted_tokens_seconds"] == 77.5


def test_labelled_series_are_summed():
    assert parse_metrics(METRICS)["spec_decode_num_accepted_tokens_per_pos_total"] == 8


def test_not_prometheus_text_is_a_clear_error():
    with pytest.raises(MetricsParseError, match="not Prometheus text"):
        parse_metrics("<html>\n<body>{oops</body>")


def test_slots_busy_and_idle():
    data = [
        {"id": 0, "n_ctx": 512, "is_processing": True, "n_prompt_tokens": 40,
         "n_prompt_tokens_processed": 30, "next_token": [{"n_decoded": 12, "n_remain": 100}]},
        {"id": 1, "n_ctx": 512, "is_processing": False, "n_prompt_tokens": 99,
         "next_token": [{"n_decoded": 50}]},
    ]
    busy, idle = parse_slots(data)
    assert (busy.processing, busy.n_ctx, busy.context_tokens, busy.decoded) == (True, 512, 40, 12)
    assert busy.prompt_processed == 30
    # An idle slot holds nothing in flight, whatever an older build left in its fields.
    assert (idle.processing, idle.context_tokens, idle.decoded) == (False, 0, 0)


def test_slots_from_older_builds():
    data = [{"id": 0, "n_ctx": 256, "state": 1, "n_past": 77, "next_token": {"n_decoded": 5}}]
    (s,) = parse_slots(data)
    assert s.processing and s.context_tokens == 77 and s.decoded == 5


def test_slots_must_be_a_list():
    with pytest.raises(ValueError, match="JSON list"):
        parse_slots({"error": "nope"})


def test_rate_needs_two_readings_and_restarts_on_counter_reset():
    r, st = _rate(None, 100.0, 100.0, None)
    assert r is None
    r, st = _rate(st, 150.0, 120.0, 2.0)  # 50 live tokens over 2 s
    assert r == 25.0
    r, st = _rate(st, 5.0, 5.0, 1.0)  # counter went back: server restarted
    assert r is None
    r, st = _rate(st, 15.0, 5.0, 1.0)
    assert r == 10.0


def test_rate_high_water_mark_never_goes_negative_and_sums_up():
    # A request finishing between the /metrics and /slots reads is briefly missing from
    # both: the live total dips, then the counter catches up.
    readings = [(100, 100), (160, 100), (100, 100), (180, 180), (180, 180)]
    st = None
    total = 0.0
    for live, counter in readings:
        r, st = _rate(st, float(live), float(counter), 1.0)
        if r is not None:
            assert r >= 0
            total += r
    assert total == 80  # exactly what the counters grew by, counted once
