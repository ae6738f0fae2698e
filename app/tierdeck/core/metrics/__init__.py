"""Live metrics of running llama-servers and of the devices they use (Qt-free).

    sampler = Sampler(lambda: [Target("haiku", "http://127.0.0.1:18080", pid)])
    sampler.subscribe(print)       # called from the sampler thread after each round
    sampler.start()
    sampler.store.window(60)       # the last minute of every series, as numpy arrays
"""

import importlib

# Names load on first use (PEP 562): `tierdeck plan` and friends import Target without
# paying for numpy, httpx and the Prometheus parser.
_WHERE = {
    "DeviceProbe": "devices",
    "MetricsParseError": "prom",
    "parse_metrics": "prom",
    "Sampler": "sampler",
    "DOWN": "samples",
    "ERROR": "samples",
    "LOADING": "samples",
    "SLOW": "samples",
    "UP": "samples",
    "DeviceSample": "samples",
    "Sample": "samples",
    "ServerSample": "samples",
    "series_name": "samples",
    "ServerScraper": "scraper",
    "SlotInfo": "slots",
    "parse_slots": "slots",
    "MetricsStore": "store",
    "Window": "store",
    "Target": "target",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
