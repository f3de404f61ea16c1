"""Composite, batch, tree and collections through both clients against the emulator."""

from __future__ import annotations

import pytest

from forcelink import AsyncSalesforce, CompositeRequest, InvalidArgumentError, RecordResult
from forcelink.testing import Emulator


def test_execute_with_references(org: Emulator) -> None:
    sf = org.client()
    req = sf.composite.request()
    account = req.create("Account", {"Name": "Builder Co", "Industry": "Energy"})
    contact = req.create("Contact", {"LastName": "Lee", "AccountId": account.id})
    read = req.get("Contact", contact.id, fields=["LastName", "AccountId"])
    found = req.query("SELECT Id, Name FROM Account WHERE Name = 'Builder Co'")
    req.update("Account", account.id, {"Description": "via @{ref1.id}"})
    result = sf.composite.execute(req, all_or_none=True)
    assert [r.status for r in result.results] == [201, 201, 200, 200, 204]
    assert result[read].body["AccountId"] == result[account].body["id"]
    assert result[found].body["records"][0]["Id"] == result[account].body["id"]
    assert result[0].headers["Location"].endswith(result[account].body["id"])
    assert not result.has_errors
    description = sf.sobjects.get("Account", result[account].body["id"])["Description"]
    assert description == f"via {result[account].body['id']}"


def test_all_or_none_rollback_leaves_no_record(org: Emulator) -> None:
    sf = org.client()
    req = CompositeRequest()
    req.create("Account", {"Name": "Doomed"})
    req.create("Contact", {"LastName": "Doomed"})
    req.create("Contact", {"Email": "not-an-email"}, reference_id="bad")
    result = sf.composite.execute(req, all_or_none=True)
    assert result.has_errors
    root = result.root_error()
    assert root is not None and root.reference_id == "bad"
    assert [r.body[0]["errorCode"] for r in result.results] == [
        "PROCESSING_HALTED",
        "PROCESSING_HALTED",
        "INVALID_EMAIL_ADDRESS",
    ]
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 0
    assert sf.query.query("SELECT COUNT() FROM Contact").total_size == 0
    # Without all_or_none, the good ones stay.
    partial = sf.composite.execute(req)
    assert [r.status for r in partial.results] == [201, 201, 400]
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 1


def test_composite_input_is_checked_before_sending(org: Emulator) -> None:
    sf = org.client()
    too_many = CompositeRequest()
    for i in range(26):
        too_many.create("Account", {"Name": f"A{i}"})
    with pytest.raises(InvalidArgumentError):
        sf.composite.execute(too_many)
    with pytest.raises(InvalidArgumentError):
        sf.composite.execute([{"method": "POST", "url": "sobjects/Account", "referenceId": "bad-ref!"}])
    with pytest.raises(InvalidArgumentError):
        sf.composite.execute([{"method": "post", "url": "sobjects/Account", "referenceId": "a"}])
    assert org.stats()["total_requests"] == 0


def test_batch_halts_on_error(org: Emulator) -> None:
    sf = org.client()
    saved = sf.sobjects.create("Account", {"Name": "Batch"})
    ok = sf.composite.batch(
        [
            {"method": "PATCH", "url": f"sobjects/Account/{saved.id}", "richInput": {"Name": "Renamed"}},
            {"method": "GET", "url": f"sobjects/Account/{saved.id}?fields=Name"},
        ]
    )
    assert (ok.has_errors, [r.status for r in ok.results]) == (False, [204, 200])
    assert ok.results[1].body["Name"] == "Renamed"
    halted = sf.composite.batch(
        [
            {"method": "PATCH", "url": f"sobjects/Account/{saved.id}", "richInput": {"Name": None}},
            {"method": "GET", "url": f"sobjects/Account/{saved.id}"},
        ],
        halt_on_error=True,
    )
    assert halted.has_errors
    assert [r.status for r in halted.results] == [400, 412]
    assert halted.results[1].body[0]["errorCode"] == "BATCH_PROCESSING_HALTED"


def test_tree_is_all_or_nothing(org: Emulator) -> None:
    sf = org.client()
    records = [
        {
            "attributes": {"type": "Account", "referenceId": "acct1"},
            "Name": "Tree Co",
            "Contacts": {
                "records": [
                    {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "Root"},
                    {"attributes": {"type": "Contact", "referenceId": "c2"}, "LastName": "Branch"},
                ]
            },
        },
        {"attributes": {"type": "Account", "referenceId": "acct2"}, "Name": "Second"},
    ]
    created = sf.composite.tree("Account", records)
    assert not created.has_errors
    assert set(created.ids) == {"acct1", "acct2", "c1", "c2"}
    contacts = sf.query.query("SELECT LastName, Account.Name FROM Contact ORDER BY LastName").records
    assert [(c["LastName"], c["Account"]["Name"]) for c in contacts] == [
        ("Branch", "Tree Co"),
        ("Root", "Tree Co"),
    ]
    records[0]["Contacts"]["records"][1]["Email"] = "broken"
    failed = sf.composite.tree("Account", records)
    assert failed.has_errors
    assert failed.errors["c2"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 2, "nothing of the failed tree stayed"


def test_collections_of_1000_records(org: Emulator) -> None:
    sf = org.client()
    records = [
        {"attributes": {"type": "Invoice__c"}, "Name": f"I{i:04}", "Invoice_Number__c": f"N{i}"}
        for i in range(1000)
    ]
    records[10]["Amount__c"] = "lots"
    results = sf.composite.collections.create(records)
    assert len(results) == 1000
    assert all(isinstance(r, RecordResult) for r in results)
    assert [i for i, r in enumerate(results) if not r.success] == [10]
    assert results[10].errors[0]["statusCode"] == "JSON_PARSER_ERROR"
    ids = [r.id for r in results if r.id]
    read = sf.composite.collections.retrieve("Invoice__c", ids, ["Name"])
    assert [r["Name"] for r in read if r] == [f"I{i:04}" for i in range(1000) if i != 10]
    updates = [{"attributes": {"type": "Invoice__c"}, "Id": i, "Amount__c": 5} for i in ids]
    assert all(r.success for r in sf.composite.collections.update(updates))
    upserts = [{"Invoice_Number__c": f"N{i}", "Name": f"U{i}", "Amount__c": 7} for i in range(995, 1005)]
    upserted = sf.composite.collections.upsert("Invoice__c", "Invoice_Number__c", upserts)
    assert [(r.success, r.created) for r in upserted] == [(True, False)] * 5 + [(True, True)] * 5
    deleted = sf.composite.collections.delete(ids[:300])
    assert all(r.success for r in deleted)
    assert sf.query.query("SELECT COUNT() FROM Invoice__c").total_size == 1004 - 300
    with pytest.raises(InvalidArgumentError):
        sf.composite.collections.create(records, all_or_none=True)


def test_collection_all_or_none_rolls_back(org: Emulator) -> None:
    sf = org.client()
    records = [{"attributes": {"type": "Account"}, "Name": "ok"}, {"attributes": {"type": "Account"}}]
    results = sf.composite.collections.create(records, all_or_none=True)
    assert [r.errors[0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 0


async def test_async_composite(async_sf: AsyncSalesforce) -> None:
    req = async_sf.composite.request()
    acct = req.create("Account", {"Name": "Async Co"})
    req.get("Account", acct.id)
    result = await async_sf.composite.execute(req)
    assert [r.status for r in result.results] == [201, 200]
    made = await async_sf.composite.collections.create(
        [{"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"}]
    )
    assert made[0].success


def test_a_malformed_id_in_a_collection_delete_answers_the_documented_entry(org: Emulator) -> None:
    """Salesforce's documented entry for a malformed id has no id; the emulator echoed one."""
    sf = org.client()
    good = sf.sobjects.create("Account", {"Name": "Doomed"}).id
    answer = sf.request("DELETE", "composite/sobjects", params={"ids": f"{good},001RM000003oLrB000"})
    assert answer.json() == [
        {"id": good, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {"statusCode": "MALFORMED_ID", "message": "malformed id 001RM000003oLrB000", "fields": []}
            ],
        },
    ]
