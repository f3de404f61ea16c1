"""Protecting the org's limits: a cap on requests per second shared by threads, a reserve of
the daily limit this client will not touch (refused before sending, the org's counters prove
it), and a warning logged once as usage climbs past each threshold."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from forcelink import ConfigError, RequestLimitError
from forcelink.testing import Emulator


def test_a_rate_cap_is_shared_by_threads(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().throttle(max_per_second=20).build()
    sf.limits.get()  # the first slot, and a token
    started = time.perf_counter()
    threads = [threading.Thread(target=sf.limits.get) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 more requests at 20 a second: the last leaves about a second after the first.
    assert time.perf_counter() - started >= 0.9


def test_the_reserve_is_left_to_others() -> None:
    with Emulator(api_limit=20) as org:
        sf = org.client_builder().throttle(reserve_percent=50).build()
        for _ in range(10):
            sf.limits.get()
        before = org.stats()["total_requests"]
        with pytest.raises(RequestLimitError, match="leaves the last 50") as raised:
            sf.limits.get()
        assert raised.value.error_code == "REQUEST_LIMIT_EXCEEDED"
        assert org.stats()["api_usage"]["used"] == 10  # it stopped with half the day's 20 left
        assert org.stats()["total_requests"] == before  # the refused call was not sent
        # Another integration still has the reserve.
        assert "DailyApiRequests" in org.client().limits.get()


def test_usage_warnings_are_logged_once_per_threshold(caplog: pytest.LogCaptureFixture) -> None:
    with Emulator(api_limit=20) as org:
        sf = org.client_builder().throttle(usage_warnings=[50, 75]).build()
        with caplog.at_level(logging.WARNING, logger="forcelink.limits"):
            for _ in range(16):
                sf.limits.get()
    messages = [r.getMessage() for r in caplog.records if r.name == "forcelink.limits"]
    assert len(messages) == 2
    assert messages[0].startswith("daily API usage passed 50%: 10 of 20")
    assert messages[1].startswith("daily API usage passed 75%: 15 of 20")


def test_throttle_settings_are_checked(sf_emulator: Emulator) -> None:
    for bad in ({"max_per_second": 0}, {"reserve_percent": 100}, {"usage_warnings": [120]}):
        with pytest.raises(ConfigError):
            sf_emulator.client_builder().throttle(**bad).build()  # type: ignore[arg-type]
