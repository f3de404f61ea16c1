"""The emulator answers REST as real orgs do, over plain HTTP: ETag and Last-Modified on record
GETs and 304 for a current copy, the same headers in composite subresponses, and relationship
traversal (``/sobjects/{object}/{id}/{relationship}``)."""

from __future__ import annotations

import json

from forcelink_emulator import Emulator

from .conftest import API, call, call_json


def created(org: Emulator, sobject: str, fields: dict[str, str]) -> str:
    status, body = call_json(org, "POST", f"{API}/sobjects/{sobject}", fields)
    assert status == 201, body
    record_id: str = body["id"]
    return record_id


def test_record_gets_carry_validators_and_a_current_copy_is_304(sf_emulator: Emulator) -> None:
    org = sf_emulator
    path = f"{API}/sobjects/Account/{created(org, 'Account', {'Name': 'Tagged'})}"
    _, headers, _ = call(org, "GET", path)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"') and modified.endswith(" GMT")
    assert call(org, "GET", path)[1]["ETag"] == etag, "the same record, the same tag"
    status, _, body = call(org, "GET", path, headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert call(org, "GET", path, headers={"If-Modified-Since": modified})[0] == 304
    status, _, body = call(org, "GET", path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert status == 200 and json.loads(body)["Name"] == "Tagged"
    assert call(org, "PATCH", path, {"Name": "Retagged"})[0] == 204
    status, headers, body = call(org, "GET", path, headers={"If-None-Match": etag})
    assert status == 200 and json.loads(body)["Name"] == "Retagged"
    assert headers["ETag"] != etag


def test_composite_subresponses_carry_their_headers(sf_emulator: Emulator) -> None:
    org = sf_emulator
    record = f"{API}/sobjects/Account/{created(org, 'Account', {'Name': 'Composite'})}"
    etag = call(org, "GET", record)[1]["ETag"]
    status, answer = call_json(
        org,
        "POST",
        f"{API}/composite",
        {
            "compositeRequest": [
                {"method": "GET", "url": record, "referenceId": "got"},
                {
                    "method": "GET",
                    "url": record,
                    "referenceId": "current",
                    "httpHeaders": {"If-None-Match": etag},
                },
                {
                    "method": "POST",
                    "url": f"{API}/sobjects/Account",
                    "referenceId": "new",
                    "body": {"Name": "New"},
                },
            ]
        },
    )
    assert status == 200
    got, current, new = answer["compositeResponse"]
    assert got["httpHeaders"]["ETag"] == etag and got["httpHeaders"]["Last-Modified"].endswith(" GMT")
    assert current["httpStatusCode"] == 304 and current["body"] is None
    assert new["httpStatusCode"] == 201 and new["httpHeaders"]["Location"].startswith("/services/data/v")


def test_relationships_are_traversed_from_a_record(sf_emulator: Emulator) -> None:
    org = sf_emulator
    account = created(org, "Account", {"Name": "Parent"})
    lee = created(org, "Contact", {"LastName": "Lee", "AccountId": account})
    created(org, "Contact", {"LastName": "Kim", "AccountId": account})
    orphan = created(org, "Contact", {"LastName": "Orphan"})
    status, parent = call_json(org, "GET", f"{API}/sobjects/Contact/{lee}/Account")
    assert status == 200
    assert (parent["Id"], parent["Name"], parent["attributes"]["type"]) == (account, "Parent", "Account")
    status, children = call_json(org, "GET", f"{API}/sobjects/Account/{account}/Contacts")
    assert status == 200 and children["totalSize"] == 2 and children["done"] is True
    assert sorted(c["LastName"] for c in children["records"]) == ["Kim", "Lee"]
    for missing in (f"sobjects/Contact/{orphan}/Account", f"sobjects/Account/{account}/Nothing"):
        status, errors = call_json(org, "GET", f"{API}/{missing}")
        assert (status, errors[0]["errorCode"]) == (404, "NOT_FOUND")
