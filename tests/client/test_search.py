"""SOSL: sf.search and format_sosl against the emulator's /search, sync and async, read back the
same through simple-salesforce's search."""

from __future__ import annotations

import pytest

from forcelink import InvalidArgumentError, format_sosl
from forcelink.errors import SalesforceError
from forcelink.testing import Emulator

from ..conftest import simple_salesforce_peer


@pytest.fixture
def seeded(sf_emulator: Emulator) -> Emulator:
    sf_emulator.seed_records(
        "Account",
        [
            {"Name": "Acme Corporation", "Industry": "Energy"},
            {"Name": "Acme & Co", "Industry": "Retail"},
            {"Name": "Globex", "Industry": "Energy", "Description": "acme's rival"},
            {"Name": "Initech", "Industry": "Technology"},
        ],
    )
    sf_emulator.seed_records(
        "Contact", [{"LastName": "Acmeson", "Email": "a@example.com"}, {"LastName": "Smith"}]
    )
    return sf_emulator


def names(records: list[dict[str, object]]) -> list[tuple[str, object]]:
    return [(r["attributes"]["type"], r.get("Name", r.get("LastName"))) for r in records]  # type: ignore[index]


def test_search_finds_the_term_in_every_text_field(seeded: Emulator) -> None:
    sf = seeded.client()
    found = sf.search("FIND {acme} RETURNING Account(Name ORDER BY Name), Contact(LastName)")
    assert names(found) == [
        ("Account", "Acme & Co"),
        ("Account", "Acme Corporation"),
        ("Account", "Globex"),
        ("Contact", "Acmeson"),
    ]
    energy = sf.search(
        "FIND {acme*} IN ALL FIELDS RETURNING Account(Id, Name WHERE Industry = 'Energy' ORDER BY Name)"
    )
    assert names(energy) == [("Account", "Acme Corporation"), ("Account", "Globex")]
    assert set(energy[0]) == {"attributes", "Id", "Name"}
    one = sf.search("FIND {acme} RETURNING Account(Name ORDER BY Name LIMIT 1)")
    assert names(one) == [("Account", "Acme & Co")]
    assert sf.search("FIND {nothing-like-it} RETURNING Account") == []


def test_format_sosl_keeps_user_input_a_term(seeded: Emulator) -> None:
    sf = seeded.client()
    sosl = format_sosl("FIND {{{}}} RETURNING Account(Name)", "Acme & Co")
    assert sosl == "FIND {Acme \\& Co} RETURNING Account(Name)"
    assert names(sf.search(sosl)) == [("Account", "Acme & Co")]
    hostile = format_sosl("FIND {{{}}} RETURNING Account(Name)", "x} RETURNING Contact(LastName")
    assert sf.search(hostile) == []
    with pytest.raises(InvalidArgumentError):
        format_sosl("FIND {{{}}}", None)


def test_malformed_searches_answer_salesforce_error_shape(seeded: Emulator) -> None:
    sf = seeded.client()
    for sosl in ("FIND acme", "FIND {acme} IN BODY FIELDS", "FIND {a}"):
        with pytest.raises(SalesforceError) as raised:
            sf.search(sosl)
        assert raised.value.error_code == "MALFORMED_SEARCH" and raised.value.status == 400
    with pytest.raises(InvalidArgumentError):
        sf.search("   ")


async def test_async_search(seeded: Emulator) -> None:
    found = await seeded.async_client().search("FIND {initech} RETURNING Account(Name)")
    assert names(found) == [("Account", "Initech")]


def test_simple_salesforce_search_reads_the_same(tls_emulator: Emulator) -> None:
    tls_emulator.seed_records("Account", [{"Name": "Acme Corporation"}, {"Name": "Globex"}])
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token, tls_emulator.ca_cert_path
    )
    sosl = "FIND {acme} RETURNING Account(Id, Name)"
    theirs = peer.search(sosl)["searchRecords"]
    ours = tls_emulator.client().search(sosl)
    assert [r["Id"] for r in theirs] == [r["Id"] for r in ours] and len(ours) == 1
