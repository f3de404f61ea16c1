"""The engine's metrics, the Prometheus way.

The nine ``sf_*`` metrics are recorded in Rust for the whole process (every client in it):

=====================================  =========  ==================================================
name                                   type       labels
=====================================  =========  ==================================================
``sf_requests_total``                  counter    ``operation``, ``method``, ``route``, ``status``
``sf_request_duration_seconds``        histogram  ``operation``, ``method``, ``route``
``sf_errors_total``                    counter    ``family``, ``code``, ``error_code``
``sf_rate_limit_percent_used``         gauge      ``limit_type``
``sf_token_refresh_duration_seconds``  histogram  ``flow``, ``outcome``
``sf_bulk_records_total``              counter    ``operation``, ``result``, ``status``
``sf_events_received_total``           counter    ``topic``
``sf_event_latency_seconds``           histogram  ``topic``
``sf_event_subscription_active``       gauge      ``topic``
=====================================  =========  ==================================================

``operation`` names the API call (``sobjects.create``, ``query``, ``bulk.ingest.create_job``)
and ``route`` its template (``/sobjects/{type}/{id}``): labels never carry an id or a query.
``error_code`` is Salesforce's errorCode, or ``TokenExpired`` (a token found expired) and
``RefreshFailed`` (a token request refused). ``limit_type`` is ``DailyApiRequests`` (from every
answer's ``Sforce-Limit-Info``) and, once ``sf.limits.get()`` has read them, every other limit of
the org. ``status`` of bulk records is their ``result`` under the specification's name.
Register ``ForcelinkCollector`` on the registry your service already serves, or call
``serve`` in a script. Both need ``prometheus_client`` (``pip install 'forcelink[metrics]'``);
``render_text`` needs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._core import metrics_snapshot, metrics_text, set_metrics_enabled

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

__all__ = ["METRIC_NAMES", "ForcelinkCollector", "render_text", "serve", "set_enabled"]

#: The nine names as exported (counters with ``_total``), in the engine's order.
METRIC_NAMES = tuple(
    f"{name}_total" if kind == "counter" else name for name, kind, _help, _samples in metrics_snapshot()
)


def render_text() -> str:
    """The metrics in Prometheus' text exposition format."""
    return metrics_text()


def set_enabled(enabled: bool) -> None:
    """Turns recording on or off for the process (on by default)."""
    set_metrics_enabled(enabled)


class ForcelinkCollector:
    """A ``prometheus_client`` collector of the engine's metrics::

    from prometheus_client import REGISTRY
    REGISTRY.register(ForcelinkCollector())
    """

    def describe(self) -> list[Metric]:
        """No fixed description: the families are read at each scrape (``collect``)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every family, read from the engine at this moment."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        for name, kind, help_text, samples in metrics_snapshot():
            label_names = sorted({k for labels, _ in samples for k in labels})
            family: Any
            if kind == "counter":
                family = CounterMetricFamily(name, help_text, labels=label_names)
            elif kind == "gauge":
                family = GaugeMetricFamily(name, help_text, labels=label_names)
            else:
                family = HistogramMetricFamily(name, help_text, labels=label_names)
            for labels, value in samples:
                values = [labels.get(k, "") for k in label_names]
                if kind == "histogram":
                    buckets, count, total = value
                    cumulative = [(_bound(b), float(n)) for b, n in buckets] + [("+Inf", float(count))]
                    family.add_metric(values, cumulative, total)
                else:
                    family.add_metric(values, float(value))
            yield family


def _bound(value: float) -> str:
    return repr(float(value))


def serve(port: int, addr: str = "0.0.0.0", registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Serves ``/metrics`` on ``addr:port`` from a background thread, for scripts and the CLI;
    returns the registry served (a new one holding only forcelink's metrics, unless given).
    Needs ``forcelink[metrics]``: without it, an ImportError that says so."""
    try:
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as e:
        raise ImportError("serving metrics needs prometheus_client: pip install 'forcelink[metrics]'") from e

    served = registry if registry is not None else CollectorRegistry()
    served.register(ForcelinkCollector())
    start_http_server(port, addr=addr, registry=served)
    return served
