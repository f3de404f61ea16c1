"""Per-call options: ``timeout=`` and ``headers=`` on every service method, and
``sf.with_options(...)`` for a handle whose every call sends them. What reached the wire is read
from a recording of the session."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from forcelink import InvalidArgumentError, RequestTimeoutError, Salesforce
from forcelink.simulation import SimulationRecorder
from forcelink.testing import Emulator

NOW = datetime.now(timezone.utc)


def recorded_requests(recorder: SimulationRecorder, tmp_path: Path) -> list[dict[str, Any]]:
    cassette = tmp_path / "calls.jsonl"
    recorder.save(cassette)
    lines = cassette.read_text().splitlines()[1:]
    return [json.loads(line) for line in lines]


def every_call(sf: Salesforce, tmp_path: Path) -> dict[str, Callable[[dict[str, str]], object]]:
    """One call of each service method that talks REST, each taking the headers to send."""
    account = sf.sobjects.create("Account", {"Name": "Seed", "AccountNumber": "A-1"}).id
    doomed = [sf.sobjects.create("Account", {"Name": f"Doomed {i}"}).id for i in range(3)]
    apex_class = sf.tooling.create("ApexClass", {"Name": "Seeded", "Body": "public class Seeded {}"}).id
    document = tmp_path / "note.txt"
    document.write_text("hello")
    version = sf.files.upload(document).id
    req = sf.composite.request()
    req.create("Account", {"Name": "Composite"})
    soql = "SELECT Id, Name FROM Account"
    return {
        "versions": lambda h: sf.versions(headers=h),
        "search": lambda h: sf.search("FIND {Seed} IN NAME FIELDS RETURNING Account(Name)", headers=h),
        "limits.get": lambda h: sf.limits.get(headers=h),
        "sobjects.create": lambda h: sf.sobjects.create("Account", {"Name": "New"}, headers=h),
        "sobjects.get": lambda h: sf.sobjects.get("Account", account, headers=h),
        "sobjects.update": lambda h: sf.sobjects.update("Account", account, {"Phone": "1"}, headers=h),
        "sobjects.delete": lambda h: sf.sobjects.delete("Account", doomed[0], headers=h),
        "sobjects.describe": lambda h: sf.sobjects.describe("Account", headers=h),
        "sobjects.describe_global": lambda h: sf.sobjects.describe_global(headers=h),
        "sobjects.get_updated": lambda h: sf.sobjects.get_updated(
            "Account", NOW - timedelta(days=1), NOW + timedelta(days=1), headers=h
        ),
        "sobjects.get_deleted": lambda h: sf.sobjects.get_deleted(
            "Account", NOW - timedelta(days=1), NOW + timedelta(days=1), headers=h
        ),
        "query.query": lambda h: sf.query.query(soql, headers=h),
        "query.query_all": lambda h: sf.query.query_all(soql, headers=h),
        "query.stream": lambda h: list(sf.query.stream(soql, headers=h)),
        "query.explain": lambda h: sf.query.explain(soql, headers=h),
        "query.to_arrow": lambda h: sf.query.to_arrow(soql, headers=h),
        "composite.execute": lambda h: sf.composite.execute(req, headers=h),
        "composite.batch": lambda h: sf.composite.batch(req, headers=h),
        "composite.tree": lambda h: sf.composite.tree(
            "Account", [{"attributes": {"type": "Account", "referenceId": "t1"}, "Name": "Tree"}], headers=h
        ),
        "collections.create": lambda h: sf.composite.collections.create(
            [{"attributes": {"type": "Account"}, "Name": "Coll"}], headers=h
        ),
        "collections.retrieve": lambda h: sf.composite.collections.retrieve(
            "Account", [account], ["Name"], headers=h
        ),
        "collections.delete": lambda h: sf.composite.collections.delete([doomed[1]], headers=h),
        "tooling.query": lambda h: sf.tooling.query("SELECT Name FROM ApexClass", headers=h),
        "tooling.get": lambda h: sf.tooling.get("ApexClass", apex_class, headers=h),
        "tooling.execute_anonymous": lambda h: sf.tooling.execute_anonymous("System.debug(1);", headers=h),
        "files.download": lambda h: sf.files.download(version, tmp_path / "copy.txt", headers=h),
        "bulk.insert": lambda h: sf.bulk.insert("Account", [{"Name": "Bulk"}], headers=h, poll_interval=0.02),
        "bulk.query": lambda h: list(sf.bulk.query(soql, headers=h, poll_interval=0.02)),
        "apex.get": lambda h: sf.apex.get("hello", headers=h),
    }


def test_headers_given_to_a_call_reach_each_of_its_requests(sf_emulator: Emulator, tmp_path: Path) -> None:
    sf_emulator.register_apex("/hello", lambda request: {"hi": True})
    recorder = SimulationRecorder()
    sf = sf_emulator.client_builder().with_recorder(recorder).build()
    calls = every_call(sf, tmp_path)
    before = len(recorded_requests(recorder, tmp_path))
    for name, call in calls.items():
        call({"X-Forcelink-Call": name})
    requests = recorded_requests(recorder, tmp_path)[before:]
    seen = {r["request_headers"].get("x-forcelink-call") for r in requests}
    assert seen == set(calls), "every call sent its header, and no request went without one"


def test_a_header_given_to_a_call_replaces_the_librarys_own(sf_emulator: Emulator) -> None:
    sf_emulator.seed_records("Account", ({"Name": f"Paged {i:03}"} for i in range(450)))
    sf = sf_emulator.client()
    page = sf.query.query(
        "SELECT Name FROM Account", batch_size=2000, headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert (len(page.records), page.total_size, page.done) == (200, 450, False)
    assert len(sf.query.query("SELECT Name FROM Account").records) == 450


def test_with_options_gives_a_handle_whose_calls_send_them(sf_emulator: Emulator, tmp_path: Path) -> None:
    recorder = SimulationRecorder()
    sf = sf_emulator.client_builder().with_recorder(recorder).build()
    etl = sf.with_options(headers={"Sforce-Call-Options": "client=etl", "X-Team": "data"})
    etl.sobjects.create("Account", {"Name": "From ETL"})
    etl.query.query("SELECT Name FROM Account", headers={"X-Team": "override"})
    sf.sobjects.describe("Account")
    data = [r for r in recorded_requests(recorder, tmp_path) if "/oauth2/" not in r["path"]]
    headers = [
        (r["method"], r["request_headers"].get("sforce-call-options"), r["request_headers"].get("x-team"))
        for r in data
    ]
    assert headers == [
        ("POST", "client=etl", "data"),
        ("GET", "client=etl", "override"),
        ("GET", None, None),
    ]
    assert etl.instance_url == sf.instance_url
    etl.close()
    assert sf.closed, "a handle shares the client: closing one closes both"


def test_a_timeout_given_to_a_call_bounds_its_requests(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).retries(1).build()
    record = sf.sobjects.create("Account", {"Name": "Slow"}).id
    sf_emulator.inject_fault("/sobjects/Account/", status=200, delay=1.0, times=10)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        sf.sobjects.get("Account", record, timeout=0.2)
    with pytest.raises(RequestTimeoutError):
        sf.with_options(timeout=0.2).sobjects.get("Account", record)
    assert time.monotonic() - started < 1.8


@pytest.mark.parametrize(
    ("timeout", "headers"),
    [
        (None, {"Authorization": "Bearer stolen"}),
        (None, {"Host": "evil.example.com"}),
        (None, {"Content-Type": "text/plain"}),
        (None, {"Bad Name": "x"}),
        (None, {"X-Ok": "line\nbreak"}),
        (0.0, None),
        (-1.0, None),
        (float("nan"), None),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(
    sf_emulator: Emulator, timeout: float | None, headers: dict[str, str] | None
) -> None:
    sf = sf_emulator.client()
    with pytest.raises(InvalidArgumentError):
        sf.sobjects.create("Account", {"Name": "Never"}, timeout=timeout, headers=headers)
    with pytest.raises(InvalidArgumentError):
        sf.with_options(timeout=timeout, headers=headers)
    assert sf_emulator.stats()["total_requests"] == 0


async def test_the_async_client_takes_the_same_options(sf_emulator: Emulator) -> None:
    sf = sf_emulator.async_client_builder().circuit_breaker(0).retries(1).build()
    record = (
        await sf.sobjects.create("Account", {"Name": "Slow"}, headers={"Sforce-Auto-Assign": "FALSE"})
    ).id
    sf_emulator.inject_fault("/sobjects/Account/", status=200, delay=1.0, times=10)
    with pytest.raises(RequestTimeoutError):
        await sf.sobjects.get("Account", record, timeout=0.2)
    with pytest.raises(InvalidArgumentError):
        await sf.query.query("SELECT Id FROM Account", headers={"Authorization": "x"})
