"""Prometheus text from llama-server's /metrics, read with prometheus_client's parser.

llama.cpp names every metric `llamacpp:<name>`; the colon is legal in Prometheus metric
names and the parser keeps it. The parser strips `_total` from a counter's *family* name
but not from its samples, so values are keyed by sample name (`llamacpp:tokens_predicted_total`),
which is what the server prints.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "llamacpp:"


class MetricsParseError(ValueError):
    pass


def parse_metrics(text: str) -> dict[str, float]:
    """Sample name without the `llamacpp:` prefix -> value; labelled series are summed."""
    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                name = s.name[len(PREFIX):] if s.name.startswith(PREFIX) else s.name
                out[name] = out.get(name, 0.0) + float(s.value)
    except ValueError as e:
        raise MetricsParseError(f"/metrics is not Prometheus text: {e}") from e
    return out
