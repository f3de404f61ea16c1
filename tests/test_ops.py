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

from forcelink import NotFoundError
from forcelink._core import metrics_snapshot
from forcelink.metrics import METRIC_NAMES, serve
from forcelink.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
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


def test_alert_rules_pass_promtool_and_their_unit_tests(prometheus_bin: Path) -> None:
    assert "SUCCESS: 6 rules found" in promtool(prometheus_bin, "check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool(prometheus_bin, "test", "rules", "alerts_test.yml")
    rules = yaml.safe_load((OPS / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [
        "HighErrorRate",
        "RateLimitWarning",
        "RateLimitCritical",
        "AuthFailure",
        "HighLatency",
        "EventSubscriptionDown",
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
    expected_creates = total("sf_requests", method="POST", route="/sobjects/{type}", status="201")
    assert expected_503 >= 3 and expected_creates >= 20
    deadline = time.monotonic() + 30
    while scalar(base, "sum(sf_requests_total)") != expected_requests:
        assert time.monotonic() < deadline, (scalar(base, "sum(sf_requests_total)"), expected_requests)
        time.sleep(0.25)
    assert scalar(base, "sum(sf_errors_total)") == expected_errors
    assert scalar(base, 'sum(sf_errors_total{code="SERVER_UNAVAILABLE"})') == expected_503
    assert (
        scalar(base, 'sf_requests_total{method="POST",route="/sobjects/{type}",status="201"}')
        == expected_creates
    )
    # Every dashboard expression is valid PromQL that this server evaluates.
    for expr in dashboard_expressions():
        query(base, expr)
