"""Record a session against the emulator, stop it, replay with no network; fakes and fixtures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from forcelink import AsyncSalesforce, InvalidSessionError, Salesforce, SimulationError
from forcelink.simulation import FakeTransport, SimulationRecorder, SimulationReplayer
from forcelink.testing import Emulator, make_account, make_contact

from ..auth_keys import app_key

USER = "cassette@example.com"


def configure(builder: Any, instance_url: str, login_url: str) -> Any:
    return (
        builder.instance_url(instance_url)
        .login_url(login_url)
        .jwt_bearer("jwt-app", USER, app_key().private_pkcs8)
    )


def sync_session(sf: Salesforce) -> tuple[str, list[str], dict[str, Any]]:
    saved = sf.sobjects.create("Account", make_account(1))
    sf.sobjects.update("Account", saved.id, {"Industry": "Energy"})
    ids = [r["Id"] for r in sf.query.stream("SELECT Id FROM Account ORDER BY Name", batch_size=200)]
    return saved.id, ids, sf.sobjects.get("Account", saved.id, fields=["Name", "Industry"])


async def async_session(sf: AsyncSalesforce) -> tuple[str, list[str], dict[str, Any]]:
    saved = await sf.sobjects.create("Account", make_account(1))
    await sf.sobjects.update("Account", saved.id, {"Industry": "Energy"})
    ids = [r["Id"] async for r in sf.query.stream("SELECT Id FROM Account ORDER BY Name", batch_size=200)]
    return saved.id, ids, await sf.sobjects.get("Account", saved.id, fields=["Name", "Industry"])


def test_record_then_replay_with_both_clients(tmp_path: Path) -> None:
    cassette = tmp_path / "session.jsonl"
    with Emulator() as org:
        org.create_user(USER)
        org.create_connected_app("jwt-app", certificate_pem=app_key().certificate)
        org.issue_refresh_token("jwt-app", USER)
        org.seed_records("Account", (make_account(100 + i) for i in range(449)))
        url, login = org.instance_url, org.login_url
        recorder = SimulationRecorder()
        live = configure(Salesforce.builder(), url, login).with_recorder(recorder).build()
        recorded = sync_session(live)
        token = live.auth.token().access_token
        recorder.save(cassette)
        assert len(recorded[1]) == 450  # three pages of 200, 200 and 50
        assert org.stats()["requests"]["GET query/{locator}"] == 2

    text = cassette.read_text()
    for secret in (token, "PRIVATE KEY", app_key().private_pkcs8.splitlines()[1]):
        assert secret not in text
    assert text.splitlines()[0] == '{"format":"forcelink-cassette","version":1}'

    # The org is gone: the replay answers everything.
    sync_replayer = SimulationReplayer.load(cassette)
    replayed = sync_session(configure(Salesforce.builder(), url, login).with_replayer(sync_replayer).build())
    assert replayed == recorded
    assert sync_replayer.remaining == 0

    async_replayer = SimulationReplayer.load(cassette)
    asf = configure(AsyncSalesforce.builder(), url, login).with_replayer(async_replayer).build()
    assert asyncio.run(async_session(asf)) == recorded


def recording(org: Emulator, recorder: SimulationRecorder) -> Salesforce:
    """A client of the emulator whose exchanges the recorder keeps."""
    return (
        Salesforce.builder()
        .instance_url(org.instance_url)
        .access_token(org.access_token)
        .with_recorder(recorder)
        .build()
    )


def replaying(url: str, replayer: SimulationReplayer) -> Salesforce:
    """A client answered from a cassette alone (its token was never issued)."""
    return Salesforce.builder().instance_url(url).access_token("00D!x").with_replayer(replayer).build()


def test_unmatched_requests_raise_naming_the_request(tmp_path: Path) -> None:
    cassette = tmp_path / "one.jsonl"
    with Emulator() as org:
        recorder = SimulationRecorder()
        sf = recording(org, recorder)
        saved = sf.sobjects.create("Account", {"Name": "Only"})
        sf.sobjects.get("Account", saved.id)
        recorder.save(cassette)
        url = org.instance_url
    replay = replaying(url, SimulationReplayer.load(cassette))
    with pytest.raises(SimulationError) as caught:
        replay.sobjects.create("Account", {"Name": "Different"})
    assert "POST /services/data/v62.0/sobjects/Account" in str(caught.value)
    assert isinstance(caught.value, LookupError)
    assert caught.value.attempts == 1
    # Ordered: the recorded order is required.
    ordered = replaying(url, SimulationReplayer.load(cassette, ordered=True))
    with pytest.raises(SimulationError):
        ordered.sobjects.get("Account", saved.id)
    assert ordered.sobjects.create("Account", {"Name": "Only"}).id == saved.id


def test_recorded_errors_replay_as_the_same_exceptions(tmp_path: Path) -> None:
    cassette = tmp_path / "errors.jsonl"
    with Emulator() as org:
        recorder = SimulationRecorder()
        sf = recording(org, recorder)
        org.expire_sessions()
        with pytest.raises(InvalidSessionError):
            sf.sobjects.describe_global()
        recorder.save(cassette)
        url = org.instance_url
    replay = replaying(url, SimulationReplayer.load(cassette))
    with pytest.raises(InvalidSessionError):
        replay.sobjects.describe_global()


def test_fake_transport_for_unit_tests() -> None:
    fake = FakeTransport()
    fake.respond(
        "/sobjects/Contact",
        {"id": "003000000000001AAA", "success": True, "errors": []},
        status=201,
        method="POST",
    )
    fake.respond("/query", {"totalSize": 1, "done": True, "records": [{"Id": "003000000000001AAA"}]})
    sf = (
        Salesforce.builder()
        .instance_url("https://acme.my.salesforce.com")
        .access_token("00D!t")
        .with_fake_transport(fake)
        .build()
    )
    assert sf.sobjects.create("Contact", make_contact(7)).id == "003000000000001AAA"
    assert [r["Id"] for r in sf.query.stream("SELECT Id FROM Contact")] == ["003000000000001AAA"]
    calls = fake.requests()
    assert [(c["method"], c["path"].split("?")[0]) for c in calls] == [
        ("POST", "/services/data/v62.0/sobjects/Contact"),
        ("GET", "/services/data/v62.0/query"),
    ]
    assert calls[0]["body"]["LastName"] == "Contact 7"
    assert fake.pending == 0
    with pytest.raises(SimulationError, match="no answer queued"):
        sf.sobjects.describe_global()


def test_sf_cassette_records_then_replays(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from forcelink import Salesforce

        def test_session(sf_cassette, sf_emulator):
            builder = Salesforce.builder().instance_url(sf_emulator.instance_url).access_token(sf_emulator.access_token)
            sf = sf_cassette.configure(builder).build()
            saved = sf.sobjects.create("Account", {"Name": "Cassette"})
            assert sf.sobjects.get("Account", saved.id)["Name"] == "Cassette"
            served = sf_emulator.stats()["total_requests"]
            assert served == (2 if sf_cassette.mode == "record" else 0), sf_cassette.mode
        """
    )
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    first.assert_outcomes(passed=1)
    cassettes = list((pytester.path / "cassettes").glob("*.jsonl"))
    assert [c.name for c in cassettes] == ["test_session.jsonl"]
    second = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    second.assert_outcomes(passed=1)
    forced = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sf-cassette-mode", "record")
    forced.assert_outcomes(passed=1)


def test_cli_records_and_replays_a_query(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    cassette = tmp_path / "cli.jsonl"
    with Emulator() as org:
        org.seed_records("Account", (make_account(i) for i in range(3)))
        env = {**os.environ, "SF_INSTANCE_URL": org.instance_url, "SF_ACCESS_TOKEN": org.access_token}
        command = [
            sys.executable,
            "-m",
            "forcelink.cli",
            "query",
            "SELECT Name FROM Account ORDER BY Name",
        ]
        live = subprocess.run(
            [*command, "--record", str(cassette)], capture_output=True, text=True, env=env, timeout=60
        )
        assert live.returncode == 0, live.stderr
    names = [line for line in live.stdout.splitlines() if line]
    assert len(names) == 3 and '"Name": "Account 0"' in names[0]
    replayed = subprocess.run(
        [*command, "--replay", str(cassette)], capture_output=True, text=True, env=env, timeout=60
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    assert env["SF_ACCESS_TOKEN"] not in cassette.read_text()
