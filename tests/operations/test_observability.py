"""Logs, metrics and health, with exact figures: a scripted workload against the emulator moves
each sf_* metric by exactly the expected amount; caplog sees a retry, a token renewal and a
stream reconnect; at DEBUG, with every flow exercised, no secret reaches a log record."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from forcelink import AuthError, InvalidArgumentError, NotFoundError, Salesforce
from forcelink._core import metrics_snapshot
from forcelink.cli import main as forcelink_cli
from forcelink.metrics import METRIC_NAMES, ForcelinkCollector, render_text
from forcelink.testing import Emulator

from ..auth_keys import app_key
from ..conftest import point_env_at

USER = "observer@example.com"
FAST: dict[str, Any] = {"poll_interval": 0.02, "max_poll_interval": 0.1}


def figures() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample as (family, labels) -> value; histograms by their count."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for name, _kind, _help, samples in metrics_snapshot():
        for labels, value in samples:
            out[(name, frozenset(labels.items()))] = float(value[1] if isinstance(value, tuple) else value)
    return out


def moved(
    before: dict[Any, float], after: dict[Any, float]
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


@pytest.fixture
def jwt_org() -> Iterator[Emulator]:
    with Emulator() as org:
        org.create_user(USER)
        org.create_connected_app("jwt-app", certificate_pem=app_key().certificate)
        org.issue_refresh_token("jwt-app", USER)
        org.define_event("Ping__e", {"Note__c": "text"})
        yield org


def jwt_client(org: Emulator) -> Salesforce:
    return (
        Salesforce.builder()
        .login_url(org.login_url)
        .pubsub_endpoint(org.pubsub_url)
        .jwt_bearer("jwt-app", USER, app_key().private_pkcs8)
        .circuit_breaker(0)
        .build()
    )


def test_a_scripted_workload_moves_each_metric_by_exactly_the_expected_amount(jwt_org: Emulator) -> None:
    before = figures()
    sf = jwt_client(jwt_org)
    ids = [sf.sobjects.create("Account", {"Name": f"M{i}"}).id for i in range(3)]  # 1 token grant
    jwt_org.inject_fault("/sobjects/Account/", method="GET", status=503, times=1)
    sf.sobjects.get("Account", ids[0])  # a 503, retried
    sf.sobjects.delete("Account", ids[2])
    with pytest.raises(NotFoundError):
        sf.sobjects.get("Account", ids[2])  # a 404
    jwt_org.expire_sessions()
    sf.sobjects.get("Account", ids[1])  # a 401, then a renewal, then 200
    rows = [{"Name": f"B{i}" if i < 8 else "", "AccountNumber": f"N{i}"} for i in range(10)]
    loaded = sf.bulk.insert("Account", rows, **FAST)
    assert (loaded.records_processed, loaded.records_failed) == (10, 2)
    with sf.events.subscribe("/event/Ping__e", replay="earliest", batch_size=5) as sub:
        during = figures()
        for i in range(5):
            sf.events.publish("Ping__e", {"Note__c": f"n{i}"})
        events = [e for _, e in zip(range(5), sub, strict=False)]
    assert len(events) == 5
    after = figures()
    delta = moved(before, after)

    def request(
        operation: str, method: str, route: str, status: str
    ) -> tuple[str, frozenset[tuple[str, str]]]:
        return key("sf_requests", operation=operation, method=method, route=route, status=status)

    requests = {k: v for k, v in delta.items() if k[0] == "sf_requests"}
    assert requests[request("sobjects.create", "POST", "/sobjects/{type}", "201")] == 3 + 5
    assert requests[request("sobjects.get", "GET", "/sobjects/{type}/{id}", "503")] == 1
    assert requests[request("sobjects.get", "GET", "/sobjects/{type}/{id}", "200")] == 2
    assert requests[request("sobjects.get", "GET", "/sobjects/{type}/{id}", "404")] == 1
    assert requests[request("sobjects.get", "GET", "/sobjects/{type}/{id}", "401")] == 1
    assert requests[request("sobjects.delete", "DELETE", "/sobjects/{type}/{id}", "204")] == 1
    assert requests[request("auth.token", "POST", "/oauth2/token", "200")] == 2
    assert requests[request("bulk.ingest.create_job", "POST", "/jobs/ingest", "200")] == 1
    # Every request is timed once, in its operation, route and method's histogram.
    timed: dict[tuple[str, str, str], float] = {}
    for (_name, labels), n in requests.items():
        found = dict(labels)
        op_route_method = (found["operation"], found["route"], found["method"])
        timed[op_route_method] = timed.get(op_route_method, 0.0) + n
    for (operation, route, method), n in timed.items():
        histogram = key("sf_request_duration_seconds", operation=operation, method=method, route=route)
        assert delta[histogram] == n, (route, method)

    errors = {k: v for k, v in delta.items() if k[0] == "sf_errors"}
    assert errors == {
        key("sf_errors", family="rest", code="SERVER_UNAVAILABLE", error_code="SERVER_UNAVAILABLE"): 1,
        key("sf_errors", family="rest", code="ENTITY_IS_DELETED", error_code="ENTITY_IS_DELETED"): 1,
        # The specification's name for a token found expired.
        key("sf_errors", family="rest", code="INVALID_SESSION_ID", error_code="TokenExpired"): 1,
    }
    assert delta[key("sf_token_refresh_duration_seconds", flow="jwt_bearer", outcome="success")] == 2
    assert delta[key("sf_bulk_records", operation="insert", result="success", status="success")] == 8
    assert delta[key("sf_bulk_records", operation="insert", result="failed", status="failed")] == 2
    assert key("sf_bulk_records", operation="insert", result="unprocessed", status="unprocessed") not in delta
    assert delta[key("sf_events_received", topic="/event/Ping__e")] == 5
    assert delta[key("sf_event_latency_seconds", topic="/event/Ping__e")] == 5
    assert (
        during[key("sf_event_subscription_active", topic="/event/Ping__e")]
        == before.get(key("sf_event_subscription_active", topic="/event/Ping__e"), 0) + 1
    )
    # Closing ends the stream's task soon after; the gauge then drops back.
    active = key("sf_event_subscription_active", topic="/event/Ping__e")
    deadline = time.monotonic() + 5
    while figures().get(active, 0) != before.get(active, 0):
        assert time.monotonic() < deadline, "the subscription still counts as active"
        time.sleep(0.01)
    usage = sf.limits.usage
    assert usage is not None
    assert after[key("sf_rate_limit_percent_used", limit_type="DailyApiRequests")] == pytest.approx(
        usage.percent, abs=0.01
    )
    # Reading the org's limits records each of them by its name.
    limits = sf.limits.get()
    storage = limits["DataStorageMB"]
    used = (storage["Max"] - storage["Remaining"]) * 100 / storage["Max"]
    assert figures()[key("sf_rate_limit_percent_used", limit_type="DataStorageMB")] == pytest.approx(used)


def test_the_collector_and_the_text_format_export_the_nine_names(sf_emulator: Emulator) -> None:
    sf_emulator.client().sobjects.create("Account", {"Name": "Exported"})
    registry = CollectorRegistry()
    registry.register(ForcelinkCollector())
    exposed = generate_latest(registry).decode()
    names = {f.name for f in text_string_to_metric_families(exposed)}
    text_names = {f.name for f in text_string_to_metric_families(render_text())}
    # prometheus_client names counter families without their _total.
    expected = {n.removesuffix("_total") for n in METRIC_NAMES}
    assert names == expected == text_names
    assert 'route="/sobjects/{type}"' in exposed and "001" not in exposed.split("route=")[1][:40]


def test_logs_of_a_retry_a_token_renewal_and_a_stream_reconnect(
    jwt_org: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="forcelink")
    sf = jwt_client(jwt_org)
    saved = sf.sobjects.create("Account", {"Name": "Logged"})
    jwt_org.inject_fault("/sobjects/Account/", method="GET", status=503, times=1)
    sf.sobjects.get("Account", saved.id)
    jwt_org.expire_sessions()
    sf.sobjects.get("Account", saved.id)
    for i in range(4):
        sf.events.publish("Ping__e", {"Note__c": f"r{i}"})
    jwt_org.drop_streams_after(2)
    with sf.events.subscribe("/event/Ping__e", replay="earliest", batch_size=2) as sub:
        got = [e for _, e in zip(range(4), sub, strict=False)]
    assert len(got) == 4

    def records(logger: str, message: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == logger and r.getMessage().startswith(message)]

    (retry,) = records("forcelink.http", "retrying")
    assert retry.levelno == logging.INFO
    assert (
        'route="/sobjects/{type}/{id}"' in retry.getMessage()
        and "cause=SERVER_UNAVAILABLE" in retry.getMessage()
    )
    granted = records("forcelink.auth", "token granted")
    renewed = records("forcelink.auth", "token renewed")
    assert len(granted) == 1 and len(renewed) == 1 and 'flow="jwt_bearer"' in renewed[0].getMessage()
    reconnects = records("forcelink.events", "stream dropped: reconnecting")
    assert reconnects and reconnects[0].levelno == logging.WARNING
    assert 'topic="/event/Ping__e"' in reconnects[0].getMessage()
    opened = records("forcelink.events", "stream opened")
    assert "replay=after" in opened[1].getMessage()  # it resumed right after the last event seen
    requests = records("forcelink.http", "request")
    assert requests and all(r.levelno == logging.DEBUG for r in requests)
    assert saved.id not in caplog.text  # routes are templates


def test_disabled_levels_send_nothing_to_python(jwt_org: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="forcelink")
    sf = jwt_client(jwt_org)
    sf.sobjects.create("Account", {"Name": "Quiet"})
    assert [r for r in caplog.records if r.name.startswith("forcelink")] == []


def test_no_secret_reaches_a_log_record_at_debug(jwt_org: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sf = jwt_client(jwt_org)
    token = sf.auth.token().access_token
    saved = sf.sobjects.create("Account", {"Name": "Secretive", "Description": "field-value-xyz"})
    sf.query.query("SELECT Id FROM Account WHERE Name = 'Secretive'")
    jwt_org.expire_sessions()
    sf.sobjects.update("Account", saved.id, {"Description": "another-value-xyz"})
    sf.bulk.insert("Account", [{"Name": "bulk-value-xyz"}], **FAST)
    sf.events.publish("Ping__e", {"Note__c": "event-value-xyz"})
    with sf.events.subscribe("/event/Ping__e", replay="earliest", batch_size=1) as sub:
        next(iter(sub))
    refused = (
        Salesforce.builder()
        .login_url(jwt_org.login_url)
        .jwt_bearer("jwt-app", "nobody@example.com", app_key().private_pkcs8)
        .build()
    )
    with pytest.raises(AuthError):
        refused.sobjects.create("Account", {"Name": "x"})
    renewed = sf.auth.token().access_token
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records, "DEBUG records were captured"
    key_material = app_key().private_pkcs8.strip().splitlines()[1]
    for secret in (token, renewed, key_material, "Bearer ", "assertion=", "Authorization", "Cookie"):
        assert secret not in text, secret
    for value in ("field-value-xyz", "another-value-xyz", "bulk-value-xyz", "event-value-xyz", "Secretive"):
        assert value not in text, value


def test_health_reports_each_check_and_the_worst_status(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    report = sf.health()
    assert report.status == "ok" and report.exit_code == 0
    assert [c.name for c in report.checks] == ["token", "api", "api_usage"]
    assert all(c.status == "ok" and c.duration >= 0 for c in report.checks)
    used = sf.limits.get()["DailyApiRequests"]
    assert used["Max"] == 100_000
    degraded = sf.health(warn_percent=0.0, critical_percent=50.0)
    assert degraded.status == "degraded" and degraded.exit_code == 1
    assert degraded.checks[2].status == "degraded" and "daily API requests used" in degraded.checks[2].detail
    down = sf.health(warn_percent=0.0, critical_percent=0.0)
    assert down.status == "down" and down.checks[2].status == "down"
    with pytest.raises(InvalidArgumentError):
        sf.health(warn_percent=95.0, critical_percent=90.0)
    sf_emulator.take_down()
    unreachable = sf_emulator.client_builder().retries(1).circuit_breaker(0).build().health()
    assert unreachable.status == "down" and unreachable.checks[1].name == "api"
    assert unreachable.checks[1].status == "down" and "SERVER_UNAVAILABLE" in unreachable.checks[1].detail
    sf_emulator.bring_up()


async def test_async_health(sf_emulator: Emulator) -> None:
    report = await sf_emulator.async_client().health()
    assert report.status == "ok" and len(report.checks) == 3


def test_the_health_command_is_a_probe(
    sf_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    point_env_at(monkeypatch, sf_emulator)
    assert forcelink_cli(["health"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    assert forcelink_cli(["health", "--warn-percent", "0"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "degraded"
    sf_emulator.expire_sessions()
    assert forcelink_cli(["health"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "down" and out["checks"][1]["status"] == "down"
    assert "INVALID_SESSION_ID" in out["checks"][1]["detail"]
    monkeypatch.delenv("SF_ACCESS_TOKEN")
    assert forcelink_cli(["health"]) == 2
    assert json.loads(capsys.readouterr().out)["checks"][0]["name"] == "config"
