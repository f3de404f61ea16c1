"""close(), leaving ``with`` and ``async with``: connections are let go, subscriptions end,
and later calls raise ClientClosedError instead of quietly working."""

from __future__ import annotations

import asyncio
import threading
import time

import psutil
import pytest

from forcelink import ClientClosedError, Salesforce
from forcelink.testing import Emulator


def connections_to(port: int) -> int:
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


def port_of(org: Emulator) -> int:
    return int(org.instance_url.rsplit(":", 1)[1].split("/")[0])


def test_closing_lets_go_of_connections_and_refuses_later_calls(sf_emulator: Emulator) -> None:
    port = port_of(sf_emulator)
    before = connections_to(port)
    with sf_emulator.client() as sf:
        sf.limits.get()
        assert connections_to(port) > before
    assert sf.closed
    deadline = time.monotonic() + 5
    while connections_to(port) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections_to(port) == before
    with pytest.raises(ClientClosedError, match="closed"):
        sf.limits.get()
    with pytest.raises(RuntimeError):  # ClientClosedError is a RuntimeError too
        sf.sobjects.create("Account", {"Name": "after close"})
    sf.close()  # twice is harmless


def test_closing_ends_a_waiting_subscription(sf_emulator: Emulator) -> None:
    sf_emulator.define_event("Close__e", {"Note__c": "text"})
    sf: Salesforce = sf_emulator.client()
    sub = sf.events.subscribe("/event/Close__e")
    ended = threading.Event()

    def consume() -> None:
        for _ in sub:
            pass
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.3)
    sf.close()
    assert ended.wait(5)
    with pytest.raises(ClientClosedError):
        sf.events.subscribe("/event/Close__e")


def test_async_with_and_aclose(sf_emulator: Emulator) -> None:
    async def run() -> None:
        async with sf_emulator.async_client() as asf:
            await asf.limits.get()
        assert asf.closed
        with pytest.raises(ClientClosedError):
            await asf.limits.get()
        other = sf_emulator.async_client()
        await other.aclose()
        with pytest.raises(ClientClosedError):
            await other.query.query("SELECT Id FROM Account")

    asyncio.run(run())
