"""Bulk API 2.0 end to end against the emulator, through the public Python API."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from pathlib import Path

import pytest

from forcelink import (
    AsyncSalesforce,
    BulkEvent,
    BulkJobError,
    BulkTimeoutError,
    CsvFormatError,
    MalformedQueryError,
    Salesforce,
    SalesforceError,
)
from forcelink.cli import main
from forcelink.testing import Emulator

from ..conftest import point_env_at, simple_salesforce_peer

FAST = {"poll_interval": 0.02, "max_poll_interval": 0.2}


def write_accounts(path: Path, rows: int, bad: frozenset[int] | set[int] = frozenset()) -> Path:
    """Accounts with a row number in AccountNumber; rows in ``bad`` have no Name (required)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "AccountNumber", "Description"])
        for i in range(rows):
            name = "" if i in bad else f"Account {i}"
            writer.writerow([name, f"AN-{i:06}", f'line one of {i}\nline two, "quoted"'])
    return path


def test_25000_rows_with_37_invalid_are_all_accounted_for(org: Emulator, tmp_path: Path) -> None:
    sf = org.client()
    bad = {i * 613 + 5 for i in range(37)}
    path = write_accounts(tmp_path / "accounts.csv", 25_000, bad)
    events: list[BulkEvent] = []
    result = sf.bulk.insert("Account", path, progress=events.append, **FAST)

    assert result.records_processed == 25_000
    assert result.records_failed == 37
    assert result.records_unprocessed == 0
    assert result.records_successful + result.records_failed + result.records_unprocessed == 25_000

    failed = list(result.failed_records())
    assert len(failed) == 37
    assert {int(r["AccountNumber"][3:]) for r in failed} == bad
    for row in failed:
        assert row["sf__Id"] == ""
        assert row["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
        assert row["Name"] == ""
        assert row["Description"].endswith('line two, "quoted"')
    successful = list(result.successful_records())
    assert len(successful) == 25_000 - 37
    assert len({r["sf__Id"] for r in successful}) == len(successful)
    assert all(r["sf__Created"] == "true" for r in successful)
    first = next(r for r in successful if r["AccountNumber"] == "AN-000000")
    assert sf.sobjects.get("Account", first["sf__Id"])["Description"] == 'line one of 0\nline two, "quoted"'

    kinds = [e.kind for e in events]
    assert kinds[0] == "split" and events[0].records == 25_000
    assert "job_created" in kinds and "uploaded" in kinds
    assert events[-1].kind == "job_state" and events[-1].state == "JobComplete"


def test_rows_of_a_failed_job_come_back_unprocessed(org: Emulator, tmp_path: Path) -> None:
    sf = org.client()
    org.fail_bulk_jobs_after(1)
    result = sf.bulk.insert("Account", write_accounts(tmp_path / "a.csv", 25_000), **FAST)
    assert result.jobs[0]["state"] == "Failed"
    assert result.records_processed == 10_000
    assert result.records_unprocessed == 15_000
    unprocessed = list(result.unprocessed_records())
    assert len(unprocessed) == 15_000
    assert unprocessed[0] == {
        "Name": "Account 10000",
        "AccountNumber": "AN-010000",
        "Description": 'line one of 10000\nline two, "quoted"',
    }
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 10_000


def test_upsert_update_delete_and_hard_delete(org: Emulator) -> None:
    sf = org.client()
    rows = [{"Name": f"Inv {i}", "Invoice_Number__c": f"INV-{i}", "Amount__c": i} for i in range(300)]
    created = sf.bulk.upsert("Invoice__c", rows, external_id_field="Invoice_Number__c", **FAST)
    assert (created.records_processed, created.records_failed) == (300, 0)
    assert {r["sf__Created"] for r in created.successful_records()} == {"true"}

    again = [
        {"Name": f"Inv {i}", "Invoice_Number__c": f"INV-{i}", "Amount__c": 1000 + i} for i in range(250, 350)
    ]
    again.append({"Name": "x", "Invoice_Number__c": "INV-900", "Amount__c": 1})
    again.append({"Name": "y", "Invoice_Number__c": "INV-900", "Amount__c": 2})
    upserted = sf.bulk.upsert("Invoice__c", again, external_id_field="Invoice_Number__c", **FAST)
    flags = [r["sf__Created"] for r in upserted.successful_records()]
    assert flags.count("false") == 50 and flags.count("true") == 50
    duplicates = list(upserted.failed_records())
    assert [r["Amount__c"] for r in duplicates] == ["1", "2"]
    assert all(
        r["sf__Error"].startswith("DUPLICATE_VALUE:Duplicate external id specified: INV-900")
        for r in duplicates
    )

    ids = [r["sf__Id"] for r in created.successful_records()]
    updated = sf.bulk.update("Invoice__c", [["Id", "Name"], *[[i, "Renamed"] for i in ids[:100]]], **FAST)
    assert (updated.records_processed, updated.records_failed) == (100, 0)
    assert sf.sobjects.get("Invoice__c", ids[0])["Name"] == "Renamed"
    assert sf.sobjects.get("Invoice__c", ids[0])["Amount__c"] == 0  # empty values leave fields alone

    deleted = sf.bulk.delete("Invoice__c", [["Id"], *[[i] for i in ids[:10]]], **FAST)
    assert deleted.records_processed == 10 and deleted.records_failed == 0
    hard = sf.bulk.hard_delete("Invoice__c", [["Id"], *[[i] for i in ids[10:20]]], **FAST)
    assert hard.records_processed == 10 and hard.records_failed == 0
    all_rows = sf.query.query_all("SELECT Id, IsDeleted FROM Invoice__c", include_deleted=True)
    seen = {r["Id"]: r["IsDeleted"] for r in all_rows.records}
    assert all(seen[i] is True for i in ids[:10])
    assert not any(i in seen for i in ids[10:20])
    assert sf.query.query("SELECT COUNT() FROM Invoice__c").total_size == 350 - 20

    again_delete = sf.bulk.delete("Invoice__c", [["Id"], [ids[0]]], **FAST)
    assert next(again_delete.failed_records())["sf__Error"].startswith("ENTITY_IS_DELETED:")


def test_input_larger_than_the_upload_limit_is_split_without_loss(tmp_path: Path) -> None:
    limit = 200_000
    with Emulator(tls=True, bulk_upload_limit=limit) as org:
        sf = org.client()
        path = write_accounts(tmp_path / "big.csv", 6_000)
        assert path.stat().st_size > limit
        result = sf.bulk.insert("Account", path, max_upload_bytes=limit, parallelism=3, **FAST)
        assert len(result.job_ids) >= 3
        assert result.records_processed == 6_000 and result.records_failed == 0
        ids = sorted(r["sf__Id"] for r in result.successful_records())
        numbers = sorted(r["AccountNumber"] for r in result.successful_records())
        assert len(set(ids)) == 6_000
        assert numbers == [f"AN-{i:06}" for i in range(6_000)]
        queried = sorted(r["Id"] for r in sf.query.stream("SELECT Id FROM Account"))
        digest = hashlib.sha256("".join(ids).encode()).hexdigest()
        assert hashlib.sha256("".join(queried).encode()).hexdigest() == digest

        # Without the client's split the emulator refuses the upload, as Salesforce does.
        with pytest.raises(SalesforceError) as refused:
            sf.bulk.insert("Account", path, max_upload_bytes=10 * limit, **FAST)
        assert (refused.value.status, refused.value.error_code) == (400, "ClientInputError")


@pytest.mark.parametrize(
    ("data", "line", "text"),
    [
        (b"Name,Phone\nAcme,1\nBeta\n", 3, "1 fields"),
        (b'Name,Phone\nAcme,1\n"Beta,2\nGamma,3\n', 3, "never closed"),
        (b'Name,Phone\nAc"me,1\n', 2, "quote inside"),
    ],
)
def test_malformed_csv_is_refused_with_its_line_before_any_job(
    org: Emulator, data: bytes, line: int, text: str
) -> None:
    sf = org.client()
    with pytest.raises(CsvFormatError) as caught:
        sf.bulk.insert("Account", data)
    assert caught.value.line == line
    assert text in str(caught.value)
    assert not any(route.startswith("POST jobs") for route in org.stats()["requests"])


def test_inputs_of_every_kind_and_delimiter(org: Emulator, tmp_path: Path) -> None:
    sf = org.client()
    text = '\ufeffName;Phone\r\nA;1\r\nB;"2;3"\r\n'
    assert sf.bulk.insert("Account", text.encode(), column_delimiter=";", **FAST).records_processed == 2
    assert sf.bulk.insert("Account", io.StringIO("Name\nC\n"), **FAST).records_processed == 1
    assert sf.bulk.insert("Account", io.BytesIO(b"Name\nD\n"), **FAST).records_processed == 1
    assert sf.bulk.insert("Account", iter([{"Name": "E", "Phone": None}]), **FAST).records_processed == 1
    names = sorted(r["Name"] for r in sf.query.stream("SELECT Name, Phone FROM Account"))
    assert names == ["A", "B", "C", "D", "E"]
    assert sf.query.query("SELECT Phone FROM Account WHERE Name = 'B'").records[0]["Phone"] == "2;3"
    with pytest.raises(ValueError, match="fields the first record did not have"):
        sf.bulk.insert("Account", [{"Name": "F"}, {"Name": "G", "Phone": "1"}])


def test_bulk_query_of_120000_records_is_paged(org: Emulator, tmp_path: Path) -> None:
    org.seed_records("Account", ({"Name": f"Q{i}", "NumberOfEmployees": i} for i in range(120_000)))
    sf = org.client()
    out = tmp_path / "out.csv"
    count = sf.bulk.query_to_file(
        "SELECT Id, Name, NumberOfEmployees FROM Account", out, max_records=25_000, poll_interval=0.02
    )
    assert count == 120_000
    assert org.stats()["requests"]["GET jobs/query/{id}/results"] == 5
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120_000 and len({r["Id"] for r in rows}) == 120_000
    assert sorted(int(r["NumberOfEmployees"]) for r in rows) == list(range(120_000))
    streamed = sf.bulk.query(
        "SELECT Name FROM Account WHERE NumberOfEmployees < 10", max_records=3, poll_interval=0.02
    )
    assert sorted(r["Name"] for r in streamed) == [f"Q{i}" for i in range(10)]
    with pytest.raises(MalformedQueryError):
        list(sf.bulk.query("SELECT FROM Account"))


def insert_until_timeout(org: Emulator, path: Path) -> tuple[Salesforce, str]:
    """Starts a slow insert and stops waiting for it almost at once; the job goes on."""
    sf = org.client()
    org.set_bulk_batch_delay(0.3)
    with pytest.raises(BulkTimeoutError) as caught:
        sf.bulk.insert("Account", path, timeout=0.1, **FAST)
    (job_id,) = caught.value.job_ids
    return sf, job_id


def test_waiting_gives_up_without_aborting_and_resume_finishes(org: Emulator, tmp_path: Path) -> None:
    sf, job_id = insert_until_timeout(org, write_accounts(tmp_path / "slow.csv", 30_000))
    assert sf.bulk.job_info(job_id)["state"] in {"InProgress", "UploadComplete"}
    org.set_bulk_batch_delay(0)
    result = sf.bulk.resume([job_id])
    assert result.records_processed == 30_000
    assert sf.bulk.job_info(job_id)["state"] == "JobComplete"


def test_an_ingest_job_aborted_midway_leaves_the_rest_unprocessed(org: Emulator, tmp_path: Path) -> None:
    sf, job_id = insert_until_timeout(org, write_accounts(tmp_path / "slow.csv", 45_000))
    assert sf.bulk.abort(job_id)["state"] == "Aborted"
    org.set_bulk_batch_delay(0)
    # The batch in flight when the abort came still finishes; the job's processing time is set
    # once nothing more will change (it stays 0 only if processing never began).
    deadline = time.monotonic() + 10
    while not sf.bulk.job_info(job_id)["totalProcessingTime"] and time.monotonic() < deadline:
        time.sleep(0.05)
    result = sf.bulk.resume([job_id])
    assert result.jobs[0]["state"] == "Aborted"
    processed = result.records_processed
    assert processed % 10_000 == 0 and processed < 45_000
    done = [r["Name"] for r in result.successful_records()]
    left = [r["Name"] for r in result.unprocessed_records()]
    assert len(done) == processed
    assert done + left == [f"Account {i}" for i in range(45_000)]
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == processed


def test_a_query_job_that_is_aborted_raises(org: Emulator) -> None:
    sf = org.client()
    # An unknown field fails at creation, before any job runs.
    with pytest.raises(Exception, match="No such column"):
        list(sf.bulk.query("SELECT Nope__c FROM Account"))
    assert issubclass(BulkJobError, Exception)


async def test_async_client_loads_and_queries(async_sf: AsyncSalesforce) -> None:
    result = await async_sf.bulk.insert("Account", [["Name"], *[[f"N{i}"] for i in range(500)]], **FAST)
    assert result.records_processed == 500
    ids = [r["sf__Id"] async for r in result.successful_records()]
    assert len(set(ids)) == 500
    rows = [
        r async for r in async_sf.bulk.query("SELECT Id FROM Account", max_records=200, poll_interval=0.02)
    ]
    assert sorted(r["Id"] for r in rows) == sorted(ids)


def test_cli_bulk_insert_and_query(
    org: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_env_at(monkeypatch, org)
    path = write_accounts(tmp_path / "cli.csv", 1_000, {3})
    failed_out = tmp_path / "failed.csv"
    assert main(["bulk", "insert", "Account", str(path), "--failed-out", str(failed_out)]) == 1
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert '"records_processed": 1000' in summary and '"records_failed": 1' in summary
    assert failed_out.read_text().count("AN-000003") == 1
    out = tmp_path / "q.csv"
    assert main(["bulk", "query", "SELECT Id FROM Account", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 999


def test_simple_salesforce_bulk2_insert_works_against_the_emulator(
    tls_emulator: Emulator, tmp_path: Path
) -> None:
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token, tls_emulator.ca_cert_path
    )
    path = write_accounts(tmp_path / "peer.csv", 300, {7})
    results = peer.bulk2.Account.insert(str(path), wait=0.05)
    assert results[0]["numberRecordsProcessed"] == 300
    assert results[0]["numberRecordsFailed"] == 1
    job = results[0]["job_id"]
    ok = list(csv.DictReader(io.StringIO(peer.bulk2.Account.get_successful_records(job))))
    assert len(ok) == 299 and all(r["sf__Created"] == "true" for r in ok)
    bad = list(csv.DictReader(io.StringIO(peer.bulk2.Account.get_failed_records(job))))
    assert bad[0]["AccountNumber"] == "AN-000007"
    mine: Salesforce = tls_emulator.client()
    assert mine.query.query("SELECT COUNT() FROM Account").total_size == 299


def test_none_clears_a_field_and_an_empty_or_absent_value_leaves_it(org: Emulator) -> None:
    """As in a REST update, None clears a field (sent as #N/A); an empty string or a key left out
    of a later record leaves it as it is."""
    sf = org.client()
    ids = org.seed_records(
        "Account",
        [{"Name": f"K{i}", "Industry": "Energy", "Description": "keep", "Phone": "555"} for i in range(3)],
    )
    rows: list[dict[str, object]] = [
        {"Id": ids[0], "Industry": None, "Description": "", "Phone": None},
        {"Id": ids[1], "Industry": "Retail", "Description": None},
        {"Id": ids[2], "Industry": ""},
    ]
    result = sf.bulk.update("Account", rows, poll_interval=0.02, max_poll_interval=0.1)
    assert (result.records_processed, result.records_failed) == (3, 0)
    got = {r["Id"]: r for r in sf.query.stream("SELECT Id, Industry, Description, Phone FROM Account")}
    assert (got[ids[0]]["Industry"], got[ids[0]]["Description"], got[ids[0]]["Phone"]) == (None, "keep", None)
    assert (got[ids[1]]["Industry"], got[ids[1]]["Description"], got[ids[1]]["Phone"]) == (
        "Retail",
        None,
        "555",
    )
    assert (got[ids[2]]["Industry"], got[ids[2]]["Description"], got[ids[2]]["Phone"]) == (
        "Energy",
        "keep",
        "555",
    )
