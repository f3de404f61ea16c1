"""Circuit breakers: with the org down, calls past the threshold fail at once with
CircuitOpenError and no request reaches the org (its counters say so); a caller error never
opens the circuit; once the org is back, the first call let through closes it."""

from __future__ import annotations

import asyncio
import time

import pytest

from forcelink import CircuitOpenError, ConfigError, NotFoundError, Salesforce, ServerError, TransportError
from forcelink.testing import Emulator

from ..conftest import point_env_at


def breaker_client(org: Emulator, *, failures: int = 3, open_seconds: float = 5.0) -> Salesforce:
    return org.client_builder().retries(1).circuit_breaker(failures, open_seconds=open_seconds).build()


def test_an_org_down_for_a_while_is_not_hammered(sf_emulator: Emulator) -> None:
    sf = breaker_client(sf_emulator, failures=3, open_seconds=5.0)
    sf.limits.get()  # a token in hand
    sf_emulator.take_down()
    for _ in range(3):
        with pytest.raises(ServerError):
            sf.limits.get()
    state = sf.circuit_breakers["rest"]
    assert state.state == "open" and state.retry_in is not None and 4.0 < state.retry_in <= 5.0
    sent = sf_emulator.stats()["total_requests"]
    slowest = 0.0
    for _ in range(50):
        started = time.perf_counter()
        with pytest.raises(CircuitOpenError) as raised:
            sf.limits.get()
        slowest = max(slowest, time.perf_counter() - started)
    assert isinstance(raised.value, TransportError)
    assert raised.value.family == "rest" and 0 < raised.value.retry_in <= 5.0
    assert sf_emulator.stats()["total_requests"] == sent  # not one reached the org
    assert slowest < 0.05  # at once (a millisecond or so), not after a timeout
    assert sf.circuit_breakers["bulk"].state == "closed"  # another family is not affected
    sf_emulator.bring_up()
    time.sleep(5.05)
    assert "DailyApiRequests" in sf.limits.get()  # the call let through closes it
    assert sf.circuit_breakers["rest"].state == "closed"
    assert sf_emulator.stats()["total_requests"] == sent + 1


def test_caller_errors_never_open_the_circuit(sf_emulator: Emulator) -> None:
    sf = breaker_client(sf_emulator, failures=2)
    for _ in range(5):
        with pytest.raises(NotFoundError):
            sf.sobjects.get("Account", "001000000000001AAA")
    assert sf.circuit_breakers["rest"].state == "closed"
    assert sf.circuit_breakers["rest"].failures == 0


def test_a_failed_probe_opens_the_circuit_again(sf_emulator: Emulator) -> None:
    sf = breaker_client(sf_emulator, failures=1, open_seconds=0.3)
    sf_emulator.take_down()
    with pytest.raises(ServerError):
        sf.limits.get()
    with pytest.raises(CircuitOpenError):
        sf.limits.get()
    time.sleep(0.35)
    with pytest.raises(ServerError):  # the probe goes out, and fails
        sf.limits.get()
    with pytest.raises(CircuitOpenError):
        sf.limits.get()
    sf_emulator.bring_up()


def test_the_async_client_shares_the_behaviour(sf_emulator: Emulator) -> None:
    async def run() -> None:
        asf = sf_emulator.async_client_builder().retries(1).circuit_breaker(2, open_seconds=5.0).build()
        await asf.limits.get()
        sf_emulator.take_down()
        for _ in range(2):
            with pytest.raises(ServerError):
                await asf.limits.get()
        sent = sf_emulator.stats()["total_requests"]
        with pytest.raises(CircuitOpenError):
            await asf.limits.get()
        assert sf_emulator.stats()["total_requests"] == sent
        sf_emulator.bring_up()

    asyncio.run(run())


def test_breaker_settings_are_checked(sf_emulator: Emulator) -> None:
    with pytest.raises(ConfigError):
        sf_emulator.client_builder().circuit_breaker(3, open_seconds=-1).build()
    off = sf_emulator.client_builder().retries(1).circuit_breaker(0).build()
    sf_emulator.take_down()
    for _ in range(10):
        with pytest.raises(ServerError):
            off.limits.get()
    sf_emulator.bring_up()
    assert off.circuit_breakers["rest"].state == "closed"


def test_breaker_settings_come_from_the_environment(
    sf_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_env_at(monkeypatch, sf_emulator)
    monkeypatch.setenv("SF_BREAKER_FAILURES", "2")
    monkeypatch.setenv("SF_BREAKER_OPEN_SECONDS", "5")
    sf = Salesforce.builder(from_env=True).retries(1).build()
    sf_emulator.take_down()
    for _ in range(2):
        with pytest.raises(ServerError):
            sf.limits.get()
    with pytest.raises(CircuitOpenError):
        sf.limits.get()
    sf_emulator.bring_up()
    monkeypatch.setenv("SF_BREAKER_FAILURES", "many")
    with pytest.raises(ConfigError, match="SF_BREAKER_FAILURES"):
        Salesforce.builder(from_env=True).build()
