"""sf.request: any REST resource through the client's pipeline (token, retries by idempotency,
typed errors), the path kept on the org's instance so the token never leaves it."""

from __future__ import annotations

import pickle
import time

import pytest

from forcelink import ApiResponse, InvalidArgumentError, NotFoundError, RequestTimeoutError, ServerError
from forcelink.testing import Emulator


def test_relative_absolute_and_full_paths_reach_the_resource(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    created = sf.request("POST", "sobjects/Account", json={"Name": "Raw"})
    assert created.status == 201 and created.json()["success"] is True
    record_id = created.json()["id"]
    got = sf.request("GET", f"/services/data/v62.0/sobjects/Account/{record_id}", params={"fields": "Name"})
    assert got.status == 200 and got.json()["Name"] == "Raw"
    assert got.headers["content-type"].startswith("application/json")
    full = sf.request("GET", f"{sf_emulator.instance_url}/services/data/v62.0/limits")
    assert "DailyApiRequests" in full.json()
    query = sf.request("GET", "query", params=[("q", "SELECT Name FROM Account")])
    assert [r["Name"] for r in query.json()["records"]] == ["Raw"]
    patched = sf.request("PATCH", f"sobjects/Account/{record_id}", json={"Industry": "Energy"})
    assert patched.status == 204 and patched.json() is None and patched.content == b""
    assert sf.sobjects.get("Account", record_id)["Industry"] == "Energy"
    assert pickle.loads(pickle.dumps(got)) == got
    assert repr(got).startswith("ApiResponse(status=200")


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example.com/services/data/v62.0/limits",
        "http://127.0.0.1:1/services/data/v62.0/limits",
        "//evil.example.com/services/data/v62.0/limits",
        "/secur/logout.jsp",
        "sobjects/../../../secur/logout.jsp",
    ],
)
def test_another_host_or_a_path_outside_services_is_refused_before_sending(
    sf_emulator: Emulator, path: str
) -> None:
    sf = sf_emulator.client()
    with pytest.raises(InvalidArgumentError) as raised:
        sf.request("GET", path)
    assert raised.value.argument == "path"
    assert sf_emulator.stats()["total_requests"] == 0


def test_errors_are_typed_and_bad_input_is_refused(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    with pytest.raises(NotFoundError) as raised:
        sf.request("GET", "sobjects/Account/001000000000000AAA")
    assert raised.value.status == 404
    with pytest.raises(InvalidArgumentError):
        sf.request("GET", "limits", headers={"Authorization": "Bearer stolen"})
    with pytest.raises(InvalidArgumentError):
        sf.request("GET", "limits", headers={"Bad Name": "x"})
    with pytest.raises(InvalidArgumentError):
        sf.request("NOT A METHOD", "limits")
    with pytest.raises(InvalidArgumentError):
        sf.request("GET", "limits", timeout=-1)
    assert sf_emulator.stats()["requests"] == {"GET sobjects/{object}/{id}": 1}


def test_reads_are_retried_writes_are_not_and_the_timeout_is_per_call(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    sf_emulator.inject_fault("/limits", status=503, times=1)
    assert sf.request("GET", "limits").status == 200
    sf_emulator.inject_fault("/sobjects/Account", method="POST", status=503, times=1)
    with pytest.raises(ServerError) as raised:  # the 503 itself: a POST that arrived is not sent again
        sf.request("POST", "sobjects/Account", json={"Name": "Once"})
    assert raised.value.status == 503
    assert sf_emulator.stats()["requests"]["POST sobjects/{object}"] == 1
    sf_emulator.inject_fault("/limits", status=200, delay=1.0, times=10)
    slow = sf_emulator.client_builder().circuit_breaker(0).retries(1).build()
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        slow.request("GET", "limits", timeout=0.2)
    assert time.monotonic() - started < 0.9


async def test_the_async_twin(sf_emulator: Emulator) -> None:
    sf = sf_emulator.async_client()
    answer = await sf.request("GET", "sobjects")
    assert isinstance(answer, ApiResponse) and answer.status == 200
    assert any(o["name"] == "Account" for o in answer.json()["sobjects"])
