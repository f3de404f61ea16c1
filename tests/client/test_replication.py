"""get_updated and get_deleted: the ids of records changed or deleted in a window, as replication
tools poll them, sync and async, with bad windows refused."""

from __future__ import annotations

import datetime as dt

import pytest

from forcelink import InvalidArgumentError
from forcelink.errors import SalesforceError
from forcelink.testing import Emulator


def test_updated_and_deleted_in_a_window(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    kept = sf.sobjects.create("Account", {"Name": "Kept"}).id
    changed = sf.sobjects.create("Account", {"Name": "Changed"}).id
    gone = sf.sobjects.create("Account", {"Name": "Gone"}).id
    sf.sobjects.update("Account", changed, {"Industry": "Energy"})
    sf.sobjects.delete("Account", gone)
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)

    updated = sf.sobjects.get_updated("Account", before, after)
    assert sorted(updated["ids"]) == sorted([kept, changed])
    assert "latestDateCovered" in updated
    deleted = sf.sobjects.get_deleted("Account", before, after)
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")
    # A window before any of it finds nothing; naive datetimes are UTC.
    earlier = before.replace(tzinfo=None) - dt.timedelta(hours=1)
    assert sf.sobjects.get_updated("Account", earlier, earlier + dt.timedelta(minutes=30))["ids"] == []


def test_bad_windows_are_refused(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    now = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(SalesforceError) as raised:
        sf.sobjects.get_updated("Account", now, now - dt.timedelta(hours=1))
    assert raised.value.error_code == "INVALID_REPLICATION_DATE"
    with pytest.raises(InvalidArgumentError):
        sf.sobjects.get_deleted("Account", "yesterday", now)
    with pytest.raises(InvalidArgumentError):
        sf.sobjects.get_updated("Account; DROP", now, now)


async def test_async_twins(sf_emulator: Emulator) -> None:
    sf = sf_emulator.async_client()
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    made = (await sf.sobjects.create("Contact", {"LastName": "Async"})).id
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert (await sf.sobjects.get_updated("Contact", start, end))["ids"] == [made]
    assert (await sf.sobjects.get_deleted("Contact", start, end))["deletedRecords"] == []
