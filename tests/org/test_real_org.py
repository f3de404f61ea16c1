"""End-to-end checks that hold on any org: they run against the emulator by default, and against
a real org (a sandbox) with ``FORCELINK_TEST_ORG=env`` and the ``SF_*`` credentials set
(``pytest -m org``). Each creates its own records, named with a run-unique prefix, and deletes
them; none depends on anything only the emulator does (no injected faults, no custom objects,
no search index, no timing).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from forcelink import Salesforce
from forcelink.errors import InvalidFieldError, MalformedQueryError, NotFoundError
from forcelink.testing import Emulator

pytestmark = pytest.mark.org

FAST = {"poll_interval": 0.5, "max_poll_interval": 2.0}


@pytest.fixture(scope="module")
def sf() -> Iterator[Salesforce]:
    """The org under test: the one the SF_* variables name with FORCELINK_TEST_ORG=env, else a
    new emulator."""
    if os.environ.get("FORCELINK_TEST_ORG") == "env":
        with Salesforce.from_env() as client:
            yield client
        return
    with Emulator() as org, org.client() as client:
        yield client


@pytest.fixture
def prefix(sf: Salesforce) -> Iterator[str]:
    """A name prefix of this test's own; every Account named with it is deleted afterwards."""
    mark = f"forcelink-it-{uuid.uuid4().hex[:10]}"
    yield mark
    leftover = [
        r["Id"] for r in sf.query.query_all(f"SELECT Id FROM Account WHERE Name LIKE '{mark}%'").records
    ]
    if leftover:
        sf.composite.collections.delete(leftover)


def test_a_record_lives_and_dies(sf: Salesforce, prefix: str) -> None:
    saved = sf.sobjects.create("Account", {"Name": f"{prefix} one", "NumberOfEmployees": 12})
    assert saved.success and len(saved.id) == 18 and saved.id.startswith("001")
    record = sf.sobjects.get("Account", saved.id, fields=["Name", "NumberOfEmployees"])
    assert (record["Name"], record["NumberOfEmployees"]) == (f"{prefix} one", 12)

    sf.sobjects.update("Account", saved.id, {"NumberOfEmployees": 13, "Phone": "555-0100"})
    record = sf.sobjects.get("Account", saved.id)
    assert (record["NumberOfEmployees"], record["Phone"]) == (13, "555-0100")
    assert record["attributes"]["type"] == "Account"

    sf.sobjects.delete("Account", saved.id)
    with pytest.raises(NotFoundError) as gone:
        sf.sobjects.get("Account", saved.id)
    assert gone.value.error_code in {"ENTITY_IS_DELETED", "NOT_FOUND"}


def test_a_query_reads_every_page_of_a_bulk_load(sf: Salesforce, prefix: str) -> None:
    rows = [{"Name": f"{prefix} {i:04}", "NumberOfEmployees": i} for i in range(450)]
    loaded = sf.bulk.insert("Account", rows, **FAST)
    assert (loaded.records_processed, loaded.records_failed) == (450, 0)

    soql = f"SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name"
    streamed = list(sf.query.stream(soql, batch_size=200))
    assert [r["Name"] for r in streamed] == [f"{prefix} {i:04}" for i in range(450)]
    first = sf.query.query(soql)
    assert first.total_size == 450
    count = sf.query.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{prefix}%'")
    assert count.total_size == 450

    extracted = list(sf.bulk.query(soql, **{"poll_interval": 0.5}))
    assert sorted(int(r["NumberOfEmployees"]) for r in extracted) == list(range(450))

    removed = sf.bulk.delete("Account", [{"Id": r["Id"]} for r in streamed], **FAST)
    assert (removed.records_processed, removed.records_failed) == (450, 0)
    assert sf.query.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{prefix}%'").total_size == 0


def test_a_bulk_load_accounts_for_each_failed_row(sf: Salesforce, prefix: str) -> None:
    rows = [{"Name": f"{prefix} ok {i}", "NumberOfEmployees": str(i)} for i in range(5)]
    rows.append({"Name": "", "NumberOfEmployees": "1"})  # Name is required
    loaded = sf.bulk.insert("Account", rows, **FAST)
    assert (loaded.records_processed, loaded.records_failed) == (6, 1)
    failed = list(loaded.failed_records())
    assert len(failed) == 1 and failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    assert len(list(loaded.successful_records())) == 5


def test_collections_create_read_and_delete_together(sf: Salesforce, prefix: str) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"{prefix} c{i}"} for i in range(3)]
    created = sf.composite.collections.create(records, all_or_none=True)
    assert [r.success for r in created] == [True, True, True]
    ids = [r.id for r in created]
    read = sf.composite.collections.retrieve("Account", ids, ["Name"])
    assert [r["Name"] if r else None for r in read] == [f"{prefix} c{i}" for i in range(3)]
    deleted = sf.composite.collections.delete(ids)
    assert all(r.success for r in deleted)


def test_describe_limits_and_a_raw_request(sf: Salesforce) -> None:
    account = sf.sobjects.describe("Account")
    names = {f.name for f in account.fields}
    assert {"Id", "Name", "BillingCity", "BillingAddress", "CreatedDate"} <= names
    assert next(f for f in account.fields if f.name == "BillingCity").compound_field_name == "BillingAddress"
    limits = sf.limits.get()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] >= 0
    answer = sf.request("GET", "sobjects/Account/describe")
    assert answer.status == 200 and answer.json()["name"] == "Account"
    assert sf.limits.usage is not None


def test_mistakes_are_typed_errors(sf: Salesforce) -> None:
    with pytest.raises(InvalidFieldError):
        sf.query.query("SELECT NoSuchField__x FROM Account")
    with pytest.raises(MalformedQueryError):
        sf.query.query("SELECT FROM Account")
