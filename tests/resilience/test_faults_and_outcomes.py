"""The emulator's faults for resilience tests (by rate and seeded, a dropped answer after the
write was committed, the whole org down and back) and what the client says of each: a write
whose answer was lost is an OutcomeUnknownError, never a plain connection error."""

from __future__ import annotations

import pytest

from forcelink import OutcomeUnknownError, ServerError, TransportError
from forcelink.testing import Emulator


def count(org: Emulator, name: str) -> int:
    sf = org.client()
    return sf.query.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'").total_size


def test_a_create_whose_answer_was_lost_after_commit_is_outcome_unknown(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    sf_emulator.inject_fault("/sobjects/Account", method="POST", drop_connection=True, after_commit=True)
    with pytest.raises(OutcomeUnknownError, match="may or may not have happened") as raised:
        sf.sobjects.create("Account", {"Name": "Lost answer"})
    assert isinstance(raised.value, TransportError)
    assert raised.value.attempts == 1  # a write is never sent twice blindly
    assert count(sf_emulator, "Lost answer") == 1  # it did happen: checking first was right

    sf_emulator.inject_fault("/sobjects/Account", method="POST", drop_connection=True)
    with pytest.raises(OutcomeUnknownError):
        sf.sobjects.create("Account", {"Name": "Dropped before"})
    assert count(sf_emulator, "Dropped before") == 0  # here it did not: only a check can tell


def test_a_read_whose_answer_was_lost_is_retried(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    record_id = sf.sobjects.create("Account", {"Name": "Read me"}).id
    sf_emulator.inject_fault(f"/sobjects/Account/{record_id}", method="GET", drop_connection=True)
    assert sf.sobjects.get("Account", record_id)["Name"] == "Read me"


def outcomes_under_rate(seed: int) -> list[bool]:
    with Emulator(seed=seed) as org:
        sf_no_retry = org.client_builder().retries(1).circuit_breaker(0).build()
        org.inject_fault("/limits", status=503, rate=0.3)
        seen = []
        for _ in range(60):
            try:
                sf_no_retry.limits.get()
                seen.append(True)
            except ServerError:
                seen.append(False)
        return seen


def test_faults_by_rate_are_seeded(sf_emulator: Emulator) -> None:
    first, again, other = outcomes_under_rate(7), outcomes_under_rate(7), outcomes_under_rate(8)
    assert first == again
    assert first != other
    # About 30% of the 60 calls fail (18 expected; a seeded draw, so always the same count).
    assert 8 <= first.count(False) <= 30
    with pytest.raises(ValueError, match="rate"):
        sf_emulator.inject_fault("/limits", rate=1.5)
    with pytest.raises(ValueError, match="after_commit goes with drop_connection"):
        sf_emulator.inject_fault("/limits", after_commit=True)


def test_the_org_goes_down_and_comes_back(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    sf_emulator.take_down()
    before = sf_emulator.stats()["total_requests"]
    with pytest.raises(ServerError) as raised:
        sf.limits.get()
    assert raised.value.error_code == "SERVER_UNAVAILABLE" and raised.value.status == 503
    assert sf_emulator.stats()["total_requests"] > before  # refused, yet counted
    sf_emulator.bring_up()
    assert "DailyApiRequests" in sf.limits.get()


def test_a_delete_whose_answer_was_lost_is_retried_and_succeeds(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    record_id = sf.sobjects.create("Account", {"Name": "Delete me"}).id
    sf_emulator.inject_fault(
        f"/sobjects/Account/{record_id}", method="DELETE", drop_connection=True, after_commit=True
    )
    sf.sobjects.delete("Account", record_id)  # the retry finds it deleted: done, not an error
    assert count(sf_emulator, "Delete me") == 0


def test_a_write_whose_earlier_answer_was_lost_stays_unknown_whatever_the_last_try_says(
    sf_emulator: Emulator,
) -> None:
    sf = sf_emulator.client_builder().circuit_breaker(0).build()
    record_id = sf.sobjects.create("Account", {"Name": "Lost then refused"}).id
    path = f"/sobjects/Account/{record_id}"
    sf_emulator.inject_fault(path, method="DELETE", drop_connection=True, after_commit=True)
    sf_emulator.inject_fault(path, method="DELETE", status=503, times=10)
    with pytest.raises(OutcomeUnknownError, match="an earlier try's answer was lost"):
        sf.sobjects.delete("Account", record_id)
    assert count(sf_emulator, "Lost then refused") == 0  # the first try did it
