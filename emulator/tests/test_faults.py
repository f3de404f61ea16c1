"""Fault injection and API usage as a plain HTTP client sees them."""

from __future__ import annotations

import json

from forcelink_emulator import Emulator

from .conftest import API, call


def test_an_injected_fault_answers_its_times_then_the_org_answers(sf_emulator: Emulator) -> None:
    sf_emulator.inject_fault("/limits", status=503, times=2, retry_after=7)
    for _ in range(2):
        status, headers, body = call(sf_emulator, "GET", f"{API}/limits")
        assert status == 503
        assert headers["Retry-After"] == "7"
        assert json.loads(body)[0]["errorCode"] == "SERVER_UNAVAILABLE"
    status, headers, _ = call(sf_emulator, "GET", f"{API}/limits")
    assert status == 200
    assert headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_the_daily_limit_refuses_calls_past_it() -> None:
    with Emulator(api_limit=3) as org:
        answers = [call(org, "GET", f"{API}/sobjects")[0] for _ in range(3)]
        assert answers == [200, 200, 200]
        status, _, body = call(org, "GET", f"{API}/sobjects")
        assert status == 403
        assert json.loads(body)[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_a_bad_token_is_refused(sf_emulator: Emulator) -> None:
    status, _, body = call(sf_emulator, "GET", f"{API}/sobjects", token="00Dforged!token")
    assert status == 401
    assert json.loads(body)[0]["errorCode"] == "INVALID_SESSION_ID"
    assert call(sf_emulator, "GET", f"{API}/sobjects")[0] == 200
