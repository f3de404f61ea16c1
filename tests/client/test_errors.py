"""Each mapped error, raised from a real emulator answer; bad input refused before sending."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from forcelink import (
    DuplicateValueError,
    EntityDeletedError,
    ForbiddenError,
    InvalidArgumentError,
    InvalidFieldError,
    InvalidSessionError,
    InvalidTypeError,
    MalformedIdError,
    MultipleMatchesError,
    NotFoundError,
    RequestLimitError,
    RowLockError,
    SalesforceError,
    ServerError,
    ValidationError,
)
from forcelink.testing import Emulator


@pytest.mark.parametrize(
    ("object_name", "record", "error", "code", "fields"),
    [
        ("Account", {}, ValidationError, "REQUIRED_FIELD_MISSING", ["Name"]),
        ("Account", {"Name": "A", "Nope__c": 1}, InvalidFieldError, "INVALID_FIELD", ["Nope__c"]),
        ("Account", {"Name": "A", "NumberOfEmployees": "many"}, ValidationError, "JSON_PARSER_ERROR", []),
        ("Account", {"Name": "x" * 256}, ValidationError, "STRING_TOO_LONG", ["Name"]),
        (
            "Contact",
            {"LastName": "L", "Email": "not-an-email"},
            ValidationError,
            "INVALID_EMAIL_ADDRESS",
            ["Email"],
        ),
        (
            "Account",
            {"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z"},
            ValidationError,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        (
            "Contact",
            {"LastName": "L", "AccountId": "not-an-id"},
            MalformedIdError,
            "MALFORMED_ID",
            ["AccountId"],
        ),
        ("Widget__c", {"Name": "A"}, InvalidTypeError, "INVALID_TYPE", []),
    ],
)
def test_create_errors(
    org: Emulator,
    object_name: str,
    record: dict[str, Any],
    error: type[SalesforceError],
    code: str,
    fields: list[str],
) -> None:
    sf = org.client()
    with pytest.raises(error) as caught:
        sf.sobjects.create(object_name, record)
    e = caught.value
    assert e.error_code == code
    assert e.status == 400
    assert e.fields == fields
    assert e.errors[0]["errorCode"] == code
    assert e.message and code in str(e)


def test_duplicate_value(org: Emulator) -> None:
    sf = org.client()
    first = sf.sobjects.create("Invoice__c", {"Name": "a", "Invoice_Number__c": "DUP"})
    with pytest.raises(DuplicateValueError) as caught:
        sf.sobjects.create("Invoice__c", {"Name": "b", "Invoice_Number__c": "dup"})
    assert caught.value.fields == ["Invoice_Number__c"]
    assert first.id in caught.value.message


def test_multiple_matches_list_the_records(org: Emulator) -> None:
    sf = org.client()
    ids = {sf.sobjects.create("Invoice__c", {"Name": n, "Code__c": "SAME"}).id for n in ("a", "b")}
    with pytest.raises(MultipleMatchesError) as caught:
        sf.sobjects.upsert("Invoice__c", "Code__c", "SAME", {"Name": "c"})
    assert caught.value.status == 300
    assert {m.rsplit("/", 1)[-1] for m in caught.value.matches} == ids
    assert org.stats()["requests"]["POST sobjects/{object}"] == 2


def test_not_found_and_deleted(org: Emulator) -> None:
    sf = org.client()
    saved = sf.sobjects.create("Account", {"Name": "A"})
    missing = saved.id[:9] + "999999" + saved.id[15:]
    missing = missing[:15]  # a valid 15-character id of no record
    with pytest.raises(NotFoundError) as caught:
        sf.sobjects.get("Account", missing)
    assert caught.value.error_code == "NOT_FOUND"
    assert not isinstance(caught.value, EntityDeletedError)
    with pytest.raises(NotFoundError):
        sf.sobjects.update("Account", missing, {"Name": "B"})
    contact = sf.sobjects.create("Contact", {"LastName": "C"})
    with pytest.raises(NotFoundError):
        sf.sobjects.get("Account", contact.id)
    with pytest.raises(NotFoundError) as caught:
        sf.sobjects.upsert("Invoice__c", "Amount__c", "1", {"Name": "x"})
    assert "external ID field" in caught.value.message
    sf.sobjects.delete("Account", saved.id)
    with pytest.raises(EntityDeletedError):
        sf.sobjects.update("Account", saved.id, {"Name": "B"})


def test_required_field_cannot_be_cleared(org: Emulator) -> None:
    sf = org.client()
    saved = sf.sobjects.create("Account", {"Name": "A"})
    with pytest.raises(ValidationError) as caught:
        sf.sobjects.update("Account", saved.id, {"Name": None})
    assert caught.value.error_code == "REQUIRED_FIELD_MISSING"


def test_expired_session_and_request_limit() -> None:
    with Emulator(api_limit=2) as org:
        sf = org.client()
        sf.sobjects.describe_global()
        sf.sobjects.describe_global()
        with pytest.raises(RequestLimitError) as caught:
            sf.sobjects.describe_global()
        assert (caught.value.status, caught.value.error_code) == (403, "REQUEST_LIMIT_EXCEEDED")
        org.expire_sessions()
        with pytest.raises(InvalidSessionError) as expired:
            sf.sobjects.describe_global()
        assert (expired.value.status, expired.value.error_code) == (401, "INVALID_SESSION_ID")


def test_server_error_after_retries(org: Emulator) -> None:
    org.inject_fault("/sobjects", status=500, error_code="UNKNOWN_EXCEPTION", times=10)
    sf = org.client()
    builder_sf = type(sf).builder().instance_url(org.instance_url).access_token(org.access_token)
    quick = builder_sf.retries(3, backoff_base=0.001, backoff_max=0.002).build()
    with pytest.raises(ServerError) as caught:
        quick.sobjects.describe_global()
    assert caught.value.attempts == 3
    assert len(caught.value.retried_causes) == 2


def test_method_not_allowed_from_the_emulator(org: Emulator) -> None:
    request = urllib.request.Request(
        f"{org.instance_url}/services/data/v62.0/sobjects/Account/describe",
        method="DELETE",
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 405
    body = json.loads(caught.value.read())
    assert body == [
        {
            "errorCode": "METHOD_NOT_ALLOWED",
            "message": "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD",
        }
    ]


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda sf: sf.sobjects.get("Account", "001-bad"), "id"),
        (lambda sf: sf.sobjects.get("Account", "001D000000IqhSLAAA"), "id"),  # wrong checksum
        (lambda sf: sf.sobjects.create("Account/../x", {"Name": "A"}), "object"),
        (lambda sf: sf.sobjects.create("Account", {"Bad Name": 1}), "record"),
        (lambda sf: sf.sobjects.get("Account", "001D000000IqhSL", fields=[]), "fields"),
        (lambda sf: sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "", {}), "external_id_value"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(org: Emulator, call: Any, argument: str) -> None:
    sf = org.client()
    before = org.stats()["total_requests"]
    with pytest.raises(InvalidArgumentError) as caught:
        call(sf)
    assert caught.value.argument == argument
    assert isinstance(caught.value, ValueError)
    assert org.stats()["total_requests"] == before


def test_unsendable_values_raise_type_error_before_sending(org: Emulator) -> None:
    sf = org.client()
    with pytest.raises(TypeError):
        sf.sobjects.create("Account", {"Name": object()})
    with pytest.raises(TypeError):
        sf.sobjects.create("Account", {1: "x"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="NaN"):
        sf.sobjects.create("Account", {"Name": "A", "AnnualRevenue": float("nan")})
    with pytest.raises(TypeError):
        sf.sobjects.get("Account", "001D000000IqhSL", fields="Name")
    assert org.stats()["total_requests"] == 0


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "UNABLE_TO_LOCK_ROW", RowLockError),
        (403, "API_DISABLED_FOR_ORG", ForbiddenError),
        (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", ValidationError),
        (418, "SOMETHING_NEW", SalesforceError),
    ],
)
def test_other_mapped_errors_from_injected_answers(
    org: Emulator, status: int, code: str, error: type[SalesforceError]
) -> None:
    sf = type(org.client()).builder().instance_url(org.instance_url).access_token(org.access_token)
    quick = sf.retries(2, backoff_base=0.001, backoff_max=0.002).build()
    org.inject_fault("/sobjects", status=status, error_code=code, message="injected", times=5)
    with pytest.raises(error) as caught:
        quick.sobjects.describe_global()
    assert (caught.value.error_code, caught.value.status) == (code, status)
    assert caught.value.message == "injected"
    expected_attempts = 2 if code == "UNABLE_TO_LOCK_ROW" else 1
    assert caught.value.attempts == expected_attempts
