"""Retries by idempotency, Retry-After, timeouts, cancellation, and the blocking client in threads."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from forcelink import (
    AsyncSalesforce,
    ConnectError,
    RequestTimeoutError,
    RetryEvent,
    Salesforce,
    ServerError,
    TransportError,
)
from forcelink.testing import Emulator


def quick_client(org: Emulator, events: list[RetryEvent] | None = None, **retry: float) -> Salesforce:
    builder = Salesforce.builder().instance_url(org.instance_url).access_token(org.access_token)
    builder.retries(int(retry.get("max_attempts", 4)), backoff_base=0.001, backoff_max=0.005)
    if events is not None:
        builder.on_retry(events.append)
    if "timeout" in retry:
        builder.timeout(retry["timeout"])
    return builder.build()


def test_idempotent_get_is_retried_and_the_hook_sees_each_cause(org: Emulator) -> None:
    events: list[RetryEvent] = []
    sf = quick_client(org, events)
    saved = sf.sobjects.create("Account", {"Name": "A"})
    org.inject_fault("/sobjects/Account/", status=503, error_code="SERVER_UNAVAILABLE", times=2)
    assert sf.sobjects.get("Account", saved.id)["Name"] == "A"
    assert [e.attempt for e in events] == [1, 2]
    assert all(e.method == "GET" and "SERVER_UNAVAILABLE" in e.cause for e in events)
    assert org.stats()["requests"]["GET sobjects/{object}/{id}"] == 3


def test_row_lock_on_update_is_retried(org: Emulator) -> None:
    sf = quick_client(org)
    saved = sf.sobjects.create("Account", {"Name": "A"})
    org.inject_fault(
        "/sobjects/Account/", method="PATCH", status=400, error_code="UNABLE_TO_LOCK_ROW", times=1
    )
    sf.sobjects.update("Account", saved.id, {"Name": "B"})
    assert sf.sobjects.get("Account", saved.id)["Name"] == "B"


def test_post_is_not_replayed_after_it_reached_the_server(org: Emulator) -> None:
    events: list[RetryEvent] = []
    sf = quick_client(org, events)
    org.inject_fault("/sobjects/Account", method="POST", status=503, times=1)
    with pytest.raises(ServerError) as caught:
        sf.sobjects.create("Account", {"Name": "A"})
    assert caught.value.attempts == 1
    assert events == []
    assert org.stats()["requests"]["POST sobjects/{object}"] == 1


def test_retry_after_wins_over_backoff(org: Emulator) -> None:
    events: list[RetryEvent] = []
    sf = quick_client(org, events)
    org.inject_fault("/sobjects", status=503, times=1, retry_after=1)
    started = time.monotonic()
    sf.sobjects.describe_global()
    assert [e.delay for e in events] == [1.0]
    assert time.monotonic() - started >= 0.9


def test_timeouts_are_timeout_errors(org: Emulator) -> None:
    sf = quick_client(org, max_attempts=1, timeout=0.2)
    org.inject_fault("/sobjects", status=200, delay=2.0, times=1)
    with pytest.raises(RequestTimeoutError) as caught:
        sf.sobjects.describe_global()
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, TransportError)


def test_a_refused_connection_is_retried_even_for_post() -> None:
    with Emulator() as org:
        url, token = org.instance_url, org.access_token
    events: list[RetryEvent] = []
    builder = Salesforce.builder().instance_url(url).access_token(token).on_retry(events.append)
    sf = builder.retries(3, backoff_base=0.001, backoff_max=0.002).build()
    with pytest.raises(ConnectError) as caught:
        sf.sobjects.create("Account", {"Name": "A"})
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.attempts == 3
    assert [e.cause for e in events] == ["connection failed", "connection failed"]


async def test_cancelling_an_await_leaves_the_client_usable(org: Emulator, async_sf: AsyncSalesforce) -> None:
    org.inject_fault("/sobjects", status=200, delay=1.0, times=1)
    task = asyncio.create_task(async_sf.sobjects.describe_global())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    saved = await async_sf.sobjects.create("Account", {"Name": "after cancel"})
    assert (await async_sf.sobjects.get("Account", saved.id))["Name"] == "after cancel"


async def test_many_concurrent_awaits(async_sf: AsyncSalesforce, org: Emulator) -> None:
    results = await asyncio.gather(
        *(async_sf.sobjects.create("Account", {"Name": f"A{i}"}) for i in range(200))
    )
    assert len({r.id for r in results}) == 200
    assert org.stats()["requests"]["POST sobjects/{object}"] == 200


def test_blocking_client_in_threads_and_inside_a_running_loop(org: Emulator) -> None:
    sf = org.client()
    ids: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(10):
            saved = sf.sobjects.create("Account", {"Name": f"T{n}-{i}"})
            with lock:
                ids.append(saved.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 80

    async def inside_loop() -> str:
        # The blocking client never starts an event loop, so it works inside a running one.
        return sf.sobjects.create("Account", {"Name": "in loop"}).id

    assert asyncio.run(inside_loop()).startswith("001")


def test_a_pending_call_cannot_be_waited_twice(org: Emulator) -> None:
    pending = org.client()._engine.versions()
    assert pending.wait()
    with pytest.raises(RuntimeError, match="already"):
        pending.wait()


def test_a_dropped_connection_never_loses_or_duplicates(org: Emulator) -> None:
    events: list[RetryEvent] = []
    sf = quick_client(org, events)
    saved = sf.sobjects.create("Account", {"Name": "A"})
    # A read is retried after the break and succeeds.
    org.inject_fault("/sobjects/Account/", method="GET", drop_connection=True, times=1)
    assert sf.sobjects.get("Account", saved.id)["Name"] == "A"
    assert [e.cause for e in events] == ["connection error"]
    # A create is not replayed: the error says so, and no second record appears.
    org.inject_fault("/sobjects/Account", method="POST", drop_connection=True, times=1)
    with pytest.raises(TransportError) as caught:
        sf.sobjects.create("Account", {"Name": "B"})
    assert caught.value.attempts == 1
    assert not isinstance(caught.value, ConnectError)
    assert sf.query.query("SELECT COUNT() FROM Account WHERE Name = 'B'").total_size == 0
