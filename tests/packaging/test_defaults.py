"""Each default is declared once, in the engine, and the Python signatures show that one
(issue 28): the values here are the crate's, read back through the bindings."""

from __future__ import annotations

import inspect

import forcelink.bulk
import forcelink.config
import forcelink.events
from forcelink import AsyncSalesforce, Salesforce
from forcelink._core import bulk_defaults, client_defaults, events_defaults


def default_of(function: object, name: str) -> object:
    return inspect.signature(function).parameters[name].default  # type: ignore[arg-type]


def test_the_engines_defaults_are_read_back_as_declared() -> None:
    assert bulk_defaults() == {
        "parallelism": 4.0,
        "poll_interval": 0.1,
        "max_poll_interval": 10.0,
        "timeout": 7200.0,
    }
    assert events_defaults() == {
        "batch_size": 100.0,
        "max_batch_size": 100.0,
        "max_retries": 8.0,
        "backoff": 0.2,
    }
    assert client_defaults() == {
        "max_attempts": 4,
        "backoff_base": 0.25,
        "backoff_max": 20.0,
        "breaker_failures": 5,
        "breaker_open_seconds": 30.0,
        "usage_warnings": [80.0, 90.0],
        "health_warn_percent": 80.0,
        "health_critical_percent": 90.0,
    }


def test_the_signatures_show_the_engines_defaults() -> None:
    builder = Salesforce.builder()
    assert default_of(builder.retries, "max_attempts") == forcelink.config.DEFAULT_MAX_ATTEMPTS == 4
    assert default_of(builder.retries, "backoff_max") == forcelink.config.DEFAULT_BACKOFF_MAX == 20.0
    assert default_of(builder.circuit_breaker, "failures") == forcelink.config.DEFAULT_BREAKER_FAILURES == 5
    assert default_of(builder.throttle, "usage_warnings") == (80.0, 90.0)
    for client in (Salesforce, AsyncSalesforce):
        assert (
            default_of(client.health, "critical_percent") == forcelink.config.DEFAULT_HEALTH_CRITICAL_PERCENT
        )
    assert (
        default_of(forcelink.events.Events.subscribe, "batch_size")
        == forcelink.events.DEFAULT_BATCH_SIZE
        == 100
    )
    assert default_of(forcelink.events.AsyncEvents.subscribe, "max_retries") == 8
    assert default_of(forcelink.events.Events.managed_subscribe, "batch_size") == 100
    assert default_of(forcelink.bulk.Bulk.query, "timeout") == forcelink.bulk.DEFAULT_TIMEOUT == 7200.0
