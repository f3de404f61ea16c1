"""A call that did part of its work says what it did, so a re-run duplicates nothing: a bulk
load whose fifth job could not be created names the four jobs that ran and the rows that were
not loaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forcelink import BulkIncompleteError, CollectionsIncompleteError, ServerError
from forcelink.bulk import BulkEvent
from forcelink.testing import Emulator

FAST: dict[str, Any] = {"poll_interval": 0.02, "max_poll_interval": 0.2}


def rows(first: int, last: int) -> list[dict[str, str]]:
    return [{"Name": f"Row {i}", "AccountNumber": f"AN-{i:03d}"} for i in range(first, last + 1)]


def on_event(kind: str, nth: int, action: Callable[[], None]) -> Callable[[BulkEvent], None]:
    """A progress callback that runs ``action`` when the ``nth`` event of ``kind`` arrives."""
    seen = 0

    def progress(event: BulkEvent) -> None:
        nonlocal seen
        if event.kind == kind:
            seen += 1
            if seen == nth:
                action()

    return progress


def test_a_bulk_load_stopped_part_way_names_what_ran_and_what_did_not(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    # The next job creation is answered 503 on every try.
    fail_the_fifth_job = on_event(
        "job_created",
        4,
        lambda: sf_emulator.inject_fault("/jobs/ingest", method="POST", status=503, times=10),
    )

    with pytest.raises(BulkIncompleteError) as raised:
        sf.bulk.insert(
            "Account", rows(1, 50), max_records_per_job=10, parallelism=1, progress=fail_the_fifth_job, **FAST
        )
    error = raised.value
    assert len(error.job_ids) == 4
    assert (error.records_processed, error.records_failed) == (40, 0)
    assert error.unsent_rows == [(41, 50)]
    assert isinstance(error.cause, ServerError) and error.__cause__ is error.cause
    assert error.status == 503 and error.error_code == "SERVER_UNAVAILABLE"
    assert "rows 41-50 were not loaded" in str(error)
    # What ran is there, and its results can be had by id.
    resumed = sf.bulk.resume(error.job_ids)
    assert resumed.records_processed == 40
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 40
    # Loading just the rows named completes the load without a duplicate.
    sf_emulator.clear_faults()
    first, last = error.unsent_rows[0]
    sf.bulk.insert("Account", rows(first, last), **FAST)
    names = [r["Name"] for r in sf.query.stream("SELECT Name FROM Account")]
    assert sorted(names) == sorted(f"Row {i}" for i in range(1, 51))


def test_a_load_whose_first_job_fails_raises_the_plain_error(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    sf_emulator.inject_fault("/jobs/ingest", method="POST", status=503, times=10)
    with pytest.raises(ServerError):
        sf.bulk.insert("Account", rows(1, 20), max_records_per_job=10, **FAST)
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_job_whose_end_was_not_seen_is_named_and_its_rows_are_not_called_unsent(
    sf_emulator: Emulator, jobs: int
) -> None:
    """The last job is uploaded and closed, then every poll of it fails: it may run to the end,
    so its rows must not be reported unsent (a re-run of them would duplicate), and its id must
    be there to resume, even when it is the only job."""
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    fail_polls_of_the_last_job = on_event(
        "uploaded",
        jobs,
        lambda: sf_emulator.inject_fault(
            "/jobs/ingest/750", method="GET", status=400, error_code="INVALID_JOB", times=1000
        ),
    )

    with pytest.raises(BulkIncompleteError) as raised:
        sf.bulk.insert(
            "Account",
            rows(1, 10 * jobs),
            max_records_per_job=10,
            parallelism=1,
            progress=fail_polls_of_the_last_job,
            **FAST,
        )
    error = raised.value
    assert len(error.job_ids) == jobs
    assert error.unsent_rows == []
    assert error.records_processed == 10 * (jobs - 1)
    assert error.error_code == "INVALID_JOB"
    sf_emulator.clear_faults()
    resumed = sf.bulk.resume(error.job_ids)
    assert resumed.records_processed == 10 * jobs
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 10 * jobs


def accounts(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Account"}, "Name": f"{prefix} {i}"} for i in range(n)]


def test_a_collection_write_with_a_failed_call_accounts_for_every_record(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().retries(1).circuit_breaker(0).build()
    sf_emulator.inject_fault("/composite/sobjects", method="POST", status=503, times=1)
    records = accounts(450, "Coll")
    with pytest.raises(CollectionsIncompleteError) as raised:
        sf.composite.collections.create(records)
    error = raised.value
    assert len(error.results) == 450
    failed = [i for i, r in enumerate(error.results) if not r.success]
    assert len(failed) in (200, 50)  # exactly one call of 200, 200, 50 was refused
    assert {r.errors[0]["statusCode"] for r in error.results if not r.success} == {"NOT_PROCESSED"}
    assert isinstance(error.cause, ServerError) and error.status == 503
    created = sf.query.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Coll %'").total_size
    assert created == 450 - len(failed) == sum(r.success for r in error.results)
    # Sending just the records not processed completes the write without a duplicate.
    again = sf.composite.collections.create([records[i] for i in failed])
    assert all(r.success for r in again)
    names = [r["Name"] for r in sf.query.stream("SELECT Name FROM Account WHERE Name LIKE 'Coll %'")]
    assert sorted(names) == sorted(r["Name"] for r in records)


def test_a_collection_call_whose_answer_was_lost_is_marked_outcome_unknown(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().retries(1).circuit_breaker(0).build()
    sf_emulator.inject_fault(
        "/composite/sobjects", method="POST", drop_connection=True, after_commit=True, times=1
    )
    with pytest.raises(CollectionsIncompleteError) as raised:
        sf.composite.collections.create(accounts(250, "Lost"))
    unknown = [r for r in raised.value.results if not r.success]
    assert len(unknown) in (200, 50)
    assert {r.errors[0]["statusCode"] for r in unknown} == {"OUTCOME_UNKNOWN"}
    # They were in fact written: only a check can tell, which is why they are not "failed".
    assert sf.query.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Lost %'").total_size == 250
