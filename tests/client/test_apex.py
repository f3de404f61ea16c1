"""Apex REST through sf.apex, sync and async, against classes the emulator plays: the handler
sees the body, method, path and parameters sent; answers and errors come back typed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from forcelink_emulator import ApexRequest

from forcelink import InvalidArgumentError, NotFoundError, ServerError
from forcelink.testing import Emulator


@pytest.fixture
def orders_org(sf_emulator: Emulator) -> tuple[Emulator, list[ApexRequest]]:
    seen: list[ApexRequest] = []
    lock = threading.Lock()

    def orders(request: ApexRequest) -> Any:
        with lock:
            seen.append(request)
        if request.method == "POST":
            return 201, {"id": "a01000000000001", "received": request.body}
        if request.method == "DELETE":
            return 204, None
        if request.path == "/orders/boom":
            raise RuntimeError("the class threw")
        return {"path": request.path, "status": request.params.get("status")}

    sf_emulator.register_apex("/orders/*", orders)
    return sf_emulator, seen


def test_the_handler_sees_what_was_sent_and_its_answer_comes_back(
    orders_org: tuple[Emulator, list[ApexRequest]],
) -> None:
    org, seen = orders_org
    sf = org.client()
    body = {"lines": [{"sku": "A-1", "qty": 2}], "rush": True, "note": "ünïcode"}
    created = sf.apex.post("orders", json=body)
    assert created == {"id": "a01000000000001", "received": body}
    assert seen[-1] == ApexRequest("POST", "/orders", {}, body)
    assert sf.apex.get("/orders/42", params={"status": "open"}) == {"path": "/orders/42", "status": "open"}
    assert seen[-1].method == "GET" and seen[-1].params == {"status": "open"}
    assert sf.apex.delete("orders/42") is None
    full = sf.apex.call("POST", "orders", json={"x": 1})
    assert full.status == 201 and full.headers["content-type"].startswith("application/json")
    assert org.stats()["requests"]["POST apexrest"] == 2


def test_errors_are_typed(orders_org: tuple[Emulator, list[ApexRequest]]) -> None:
    org, _ = orders_org
    sf = org.client_builder().retries(1).circuit_breaker(0).build()
    with pytest.raises(NotFoundError) as missing:
        sf.apex.get("invoices/1")
    assert missing.value.error_code == "NOT_FOUND" and "Could not find a match" in str(missing.value)
    with pytest.raises(ServerError) as failed:
        sf.apex.get("orders/boom")
    assert "the class threw" in str(failed.value)
    with pytest.raises(InvalidArgumentError):
        sf.apex.get("https://evil.example.com/services/apexrest/orders")
    org.expire_sessions()
    with pytest.raises(Exception, match="INVALID_SESSION_ID"):
        sf.apex.get("orders/1")


async def test_the_async_twin(orders_org: tuple[Emulator, list[ApexRequest]]) -> None:
    org, seen = orders_org
    sf = org.async_client()
    assert await sf.apex.put("orders/7", json={"qty": 3}) == {"path": "/orders/7", "status": None}
    assert seen[-1].method == "PUT" and seen[-1].body == {"qty": 3}
    assert (await sf.apex.post("orders", json=[1, 2]))["received"] == [1, 2]
