"""The operations material, checked: the alert rules pass `promtool check rules` and their unit
tests (each alert fires on a failing series, stays silent on a healthy one); every Grafana panel
queries metrics the library exports; and a real Prometheus server scrapes the collector while
traffic runs against the emulator, its query API then returning the client's own figures."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from forcelink import AuthError, NotFoundError, Salesforce
from forcelink._core import metrics_snapshot
from forcelink.metrics import METRIC_NAMES, serve
from forcelink.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
HISTOGRAMS = {"sf_request_duration_seconds", "sf_token_refresh_duration_seconds", "sf_event_latency_seconds"}


@pytest.fixture(scope="module")
def prometheus_bin() -> Path:
    """promtool and prometheus, installed by the project's script when missing."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-prometheus.sh")], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


def exported_series_names() -> set[str]:
    names = set(METRIC_NAMES)
    for h in HISTOGRAMS:
        names |= {f"{h}_bucket", f"{h}_sum", f"{h}_count"}
    return names


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bsf_[a-z_]+\b", expr))


def promtool(prometheus_bin: Path, *args: str) -> str:
    done = subprocess.run(
        [str(prometheus_bin / "promtool"), *args], cwd=OPS / "prometheus", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


SPEC = json.loads((Path(__file__).parent / "fixtures" / "spec_operations.json").read_text())


def alert_rules() -> dict[str, list[dict[str, Any]]]:
    groups = yaml.safe_load((OPS / "prometheus" / "alerts.yml").read_text())["groups"]
    return {g["name"]: g["rules"] for g in groups}


def test_the_specifications_six_alerts_are_in_ops_as_written() -> None:
    rules = alert_rules()[SPEC["alert_group"]]
    assert [
        {"alert": r["alert"], "expr": r["expr"].strip(), "for": r["for"], "severity": r["labels"]["severity"]}
        for r in rules
    ] == SPEC["alerts"]
    for rule in rules:
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), rule["alert"]
        assert (
            "$value" in rule["annotations"]["description"]
            or rule["alert"] == "SalesforceEventSubscriptionDown"
        )


def test_the_specifications_six_panels_are_on_the_dashboard_as_written() -> None:
    dashboard = json.loads((OPS / "grafana" / "forcelink-dashboard.json").read_text())
    panels = {p["title"]: p for p in dashboard["panels"]}
    for spec in SPEC["panels"]:
        panel = panels[spec["title"]]
        assert [t["expr"] for t in panel["targets"]] == [spec["expr"]], spec["title"]
        assert panel["targets"][0].get("legendFormat") == spec["legend"], spec["title"]
        if "gauge_thresholds" in spec:
            assert panel["type"] == "gauge"
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            assert [s["value"] for s in steps[1:]] == spec["gauge_thresholds"]


def test_alert_rules_pass_promtool_and_their_unit_tests(prometheus_bin: Path) -> None:
    assert "SUCCESS: 8 rules found" in promtool(prometheus_bin, "check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool(prometheus_bin, "test", "rules", "alerts_test.yml")
    rules = [rule for group in alert_rules().values() for rule in group]
    assert [r["alert"] for r in rules] == [
        *(a["alert"] for a in SPEC["alerts"]),
        "ForcelinkTokenRequestRefused",
        "ForcelinkEventSubscriptionClosed",
    ]
    tests = yaml.safe_load((OPS / "prometheus" / "alerts_test.yml").read_text())["tests"]
    for rule in rules:
        cases = [c for t in tests for c in t["alert_rule_test"] if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in cases), f"{rule['alert']} is never shown firing"
        assert any(not c["exp_alerts"] for c in cases), f"{rule['alert']} is never shown silent"
        assert metric_names(rule["expr"]) <= exported_series_names(), rule["alert"]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OPS / "grafana" / "forcelink-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_every_dashboard_panel_queries_exported_metrics() -> None:
    exprs = dashboard_expressions()
    assert len(exprs) >= 9
    used: set[str] = set()
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        assert names <= exported_series_names(), (expr, names - exported_series_names())
        used |= {n.removesuffix("_bucket") for n in names}
    assert used == set(METRIC_NAMES), set(METRIC_NAMES) - used


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def query(base: str, promql: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    assert body["status"] == "success", body
    return body


def scalar(base: str, promql: str) -> float | None:
    result = query(base, promql)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.fixture
def prometheus(prometheus_bin: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Prometheus server on loopback scraping an exporter port every 0.5 s; yields its URL
    and the exporter port to serve on."""
    exporter_port = free_port()
    web_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "forcelink",
                        "scrape_interval": "500ms",
                        "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
                    }
                ],
            }
        )
    )
    proc = subprocess.Popen(
        [
            str(prometheus_bin / "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prometheus did not start"
            time.sleep(0.2)
        yield base, exporter_port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def total(name: str, **match: str) -> float:
    """The client's own sum of a counter family's samples whose labels match."""
    return sum(
        float(value)
        for family, _kind, _help, samples in metrics_snapshot()
        if family == name
        for labels, value in samples
        if all(labels.get(k) == v for k, v in match.items())
    )


def test_a_real_prometheus_scrapes_the_collector_while_traffic_runs(prometheus: tuple[str, int]) -> None:
    base, exporter_port = prometheus
    serve(exporter_port, addr="127.0.0.1")
    with Emulator() as org:
        sf = org.client_builder().circuit_breaker(0).build()
        saved = [sf.sobjects.create("Account", {"Name": f"P{i}"}).id for i in range(20)]
        org.inject_fault("/sobjects/Account/", method="GET", status=503, times=3)
        for record_id in saved[:5]:
            sf.sobjects.get("Account", record_id)
        sf.sobjects.delete("Account", saved[0])
        with pytest.raises(NotFoundError):
            sf.sobjects.get("Account", saved[0])
    expected_requests = total("sf_requests")
    expected_errors = total("sf_errors")
    expected_503 = total("sf_errors", code="SERVER_UNAVAILABLE")
    expected_creates = total(
        "sf_requests", operation="sobjects.create", method="POST", route="/sobjects/{type}", status="201"
    )
    assert expected_503 >= 3 and expected_creates >= 20
    deadline = time.monotonic() + 30
    while scalar(base, "sum(sf_requests_total)") != expected_requests:
        assert time.monotonic() < deadline, (scalar(base, "sum(sf_requests_total)"), expected_requests)
        time.sleep(0.25)
    assert scalar(base, "sum(sf_errors_total)") == expected_errors
    assert scalar(base, 'sum(sf_errors_total{code="SERVER_UNAVAILABLE"})') == expected_503
    assert (
        scalar(
            base,
            'sf_requests_total{operation="sobjects.create",method="POST",route="/sobjects/{type}",status="201"}',
        )
        == expected_creates
    )
    # Every dashboard expression is valid PromQL that this server evaluates.
    for expr in dashboard_expressions():
        query(base, expr)


def series(base: str, promql: str) -> list[dict[str, str]]:
    """The label sets of an expression's result."""
    return [r["metric"] for r in query(base, promql)["data"]["result"]]


def legend_labels(legend: str | None) -> set[str]:
    return set(re.findall(r"{{(\w+)}}", legend or ""))


def test_the_specifications_expressions_select_a_live_workload(prometheus: tuple[str, int]) -> None:
    """A real Prometheus scrapes a workload with token renewals, refused token requests, failed
    requests, bulk rows and events, and the specification's twelve expressions, word for word,
    return series with the labels their legends name; the alerts' select what they should."""
    base, exporter_port = prometheus
    serve(exporter_port, addr="127.0.0.1")
    with Emulator(api_limit=150) as org:
        org.create_connected_app("ops-app", client_secret="right")
        org.define_event("Ping__e", {"Note__c": "text"})
        org.define_event("Quiet__e", {"Note__c": "text"})
        # Renews its token when the org expires its sessions.
        sf = (
            Salesforce.builder()
            .instance_url(org.instance_url)
            .login_url(org.login_url)
            .pubsub_endpoint(org.pubsub_url)
            .client_credentials("ops-app", "right")
            .circuit_breaker(0)
            .build()
        )
        refused = (
            Salesforce.builder()
            .instance_url(org.instance_url)
            .login_url(org.login_url)
            .client_credentials("ops-app", "wrong")
            .retries(1)
            .build()
        )
        with (
            sf.events.subscribe("/event/Ping__e", replay="earliest") as pings,
            sf.events.subscribe("/event/Quiet__e") as _quiet,
        ):
            received = iter(pings)

            def workload(rounds: int) -> None:
                for i in range(rounds):
                    saved = sf.sobjects.create("Account", {"Name": f"ops {i}"}).id
                    org.inject_fault("/sobjects/Account/", method="GET", status=503, times=3)
                    sf.sobjects.get("Account", saved)
                    org.expire_sessions()
                    sf.sobjects.get("Account", saved)  # a TokenExpired, then a renewal
                    with pytest.raises(AuthError):
                        refused.limits.get()  # a RefreshFailed
                    sf.events.publish("Ping__e", {"Note__c": f"n{i}"})
                    next(received)
                sf.bulk.insert("Account", [{"Name": f"bulk {i}"} for i in range(20)], poll_interval=0.02)

            def scraped() -> None:
                """Waits until Prometheus holds this process's figures as they are now."""
                deadline = time.monotonic() + 30
                while scalar(base, "sum(sf_requests_total)") != total("sf_requests"):
                    assert time.monotonic() < deadline, "no scrape came"
                    time.sleep(0.1)

            # Every series exists and is scraped, then moves: rates and increases need two samples.
            workload(1)
            scraped()
            time.sleep(1.0)
            workload(7)
            # Daily API usage past 95%, short of the limit.
            while (usage := sf.limits.usage) is not None and usage.percent <= 95.5:
                sf.sobjects.describe("Account")
            usage = sf.limits.usage
            assert usage is not None and 95 < usage.percent < 100
            scraped()
            time.sleep(1.0)

            for panel in SPEC["panels"]:
                found = series(base, panel["expr"])
                assert found, panel["title"]
                for labels in found:
                    assert legend_labels(panel["legend"]) <= set(labels), (panel["title"], labels)
            operations = {s["operation"] for s in series(base, SPEC["panels"][0]["expr"])}
            assert {"sobjects.create", "sobjects.get", "auth.token", "bulk.ingest.create_job"} <= operations
            error_codes = {s["error_code"] for s in series(base, SPEC["panels"][3]["expr"])}
            assert {"TokenExpired", "RefreshFailed", "SERVER_UNAVAILABLE"} <= error_codes
            assert {"/event/Ping__e", "/event/Quiet__e"} <= {
                s["topic"] for s in series(base, SPEC["panels"][5]["expr"])
            }

            alerts = {a["alert"]: a["expr"] for a in SPEC["alerts"]}
            ratio = scalar(base, alerts["SalesforceHighErrorRate"])
            assert ratio is not None and ratio > 0.05
            for name in ("SalesforceRateLimitWarning", "SalesforceRateLimitCritical"):
                assert [s["limit_type"] for s in series(base, alerts[name])] == ["DailyApiRequests"], name
            auth = series(base, alerts["SalesforceAuthFailure"])
            assert {s["error_code"] for s in auth} == {"TokenExpired", "RefreshFailed"}
            quiet = series(base, alerts["SalesforceEventSubscriptionDown"])
            assert [s["topic"] for s in quiet] == ["/event/Quiet__e"], "open and silent: only the quiet topic"
            # No request took 5 s: the latency alert selects nothing, and its quantile names operations.
            assert series(base, alerts["SalesforceHighLatency"]) == []
            quantiles = series(base, alerts["SalesforceHighLatency"].removesuffix(" > 5"))
            assert quantiles and all("operation" in s for s in quantiles)
