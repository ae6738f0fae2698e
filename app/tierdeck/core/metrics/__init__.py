"""Live metrics of running llama-servers and of the devices they use (Qt-free).

    sampler = Sampler(lambda: [Target("haiku", "http://127.0.0.1:18080", pid)])
    sampler.subscribe(print)       # called from the sampler thread after each round
    sampler.start()
    sampler.store.window(60)       # the last minute of every series, as numpy arrays
"""

from tierdeck.core.metrics.devices import DeviceProbe
from tierdeck.core.metrics.prom import MetricsParseError, parse_metrics
from tierdeck.core.metrics.sampler import Sampler
from tierdeck.core.metrics.samples import (
    DOWN,
    ERROR,
    LOADING,
    SLOW,
    UP,
    DeviceSample,
    Sample,
    ServerSample,
    series_name,
)
from tierdeck.core.metrics.scraper import ServerScraper
from tierdeck.core.metrics.slots import SlotInfo, parse_slots
from tierdeck.core.metrics.store import MetricsStore, Window
from tierdeck.core.metrics.target import Target

__all__ = [
    "DOWN",
    "ERROR",
    "LOADING",
    "SLOW",
    "UP",
    "DeviceProbe",
    "DeviceSample",
    "MetricsParseError",
    "MetricsStore",
    "Sample",
    "Sampler",
    "ServerSample",
    "ServerScraper",
    "SlotInfo",
    "Target",
    "Window",
    "parse_metrics",
    "parse_slots",
    "series_name",
]
