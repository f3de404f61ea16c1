"""The emulator answers REST as real orgs do: ETag and Last-Modified on record GETs and 304 for
a current copy, the same headers in composite subresponses, and relationship traversal
(``/sobjects/{object}/{id}/{relationship}``)."""

from __future__ import annotations

import pytest

from forcelink import NotFoundError
from forcelink.testing import Emulator


def test_record_gets_carry_validators_and_a_current_copy_is_304(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    record = sf.sobjects.create("Account", {"Name": "Tagged"}).id
    first = sf.request("GET", f"sobjects/Account/{record}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and etag.endswith('"') and modified.endswith(" GMT")
    assert sf.request("GET", f"sobjects/Account/{record}").headers["etag"] == etag, (
        "the same record, the same tag"
    )
    current = sf.request("GET", f"sobjects/Account/{record}", headers={"If-None-Match": etag})
    assert (current.status, current.content) == (304, b"")
    assert (
        sf.request("GET", f"sobjects/Account/{record}", headers={"If-Modified-Since": modified}).status == 304
    )
    stale = sf.request(
        "GET", f"sobjects/Account/{record}", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert stale.status == 200 and stale.json()["Name"] == "Tagged"
    sf.sobjects.update("Account", record, {"Name": "Retagged"})
    changed = sf.request("GET", f"sobjects/Account/{record}", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.json()["Name"] == "Retagged"
    assert changed.headers["etag"] != etag


def test_composite_subresponses_carry_their_headers(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    record = sf.sobjects.create("Account", {"Name": "Composite"}).id
    etag = sf.request("GET", f"sobjects/Account/{record}").headers["etag"]
    req = sf.composite.request()
    req.get("Account", record)
    req.request("GET", f"sobjects/Account/{record}", http_headers={"If-None-Match": etag})
    req.create("Account", {"Name": "New"})
    got, current, created = sf.composite.execute(req).results
    assert got.headers["ETag"] == etag and got.headers["Last-Modified"].endswith(" GMT")
    assert current.status == 304 and current.body is None
    assert created.status == 201 and created.headers["Location"].startswith("/services/data/v")


def test_relationships_are_traversed_from_a_record(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    account = sf.sobjects.create("Account", {"Name": "Parent"}).id
    lee = sf.sobjects.create("Contact", {"LastName": "Lee", "AccountId": account}).id
    sf.sobjects.create("Contact", {"LastName": "Kim", "AccountId": account})
    orphan = sf.sobjects.create("Contact", {"LastName": "Orphan"}).id
    parent = sf.request("GET", f"sobjects/Contact/{lee}/Account").json()
    assert (parent["Id"], parent["Name"], parent["attributes"]["type"]) == (account, "Parent", "Account")
    children = sf.request("GET", f"sobjects/Account/{account}/Contacts").json()
    assert children["totalSize"] == 2 and children["done"] is True
    assert sorted(c["LastName"] for c in children["records"]) == ["Kim", "Lee"]
    with pytest.raises(NotFoundError):
        sf.request("GET", f"sobjects/Contact/{orphan}/Account")
    with pytest.raises(NotFoundError):
        sf.request("GET", f"sobjects/Account/{account}/Nothing")
