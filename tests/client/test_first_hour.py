"""A new user's first hour: an interrupted load that resumes with each row once, exit codes
that keep their promise, plain progress lines, fitting hints, idle timeouts, readable reprs,
and simple-salesforce idioms that name forcelink's way."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forcelink import (
    BulkIncompleteError,
    BulkInterruptedError,
    InvalidArgumentError,
    InvalidTypeError,
    QueryPage,
    Salesforce,
    SalesforceError,
)
from forcelink.testing import Emulator

ROWS = 3_000
PER_JOB = 500


def numbered_csv(path: Path, rows: int = ROWS) -> Path:
    """Accounts whose AccountNumber is N<row>, to count each row of the input in the org."""
    with path.open("w") as f:
        f.write("Name,AccountNumber\n")
        for i in range(1, rows + 1):
            f.write(f"Acme {i},N{i}\n")
    return path


def account_numbers(sf: Salesforce) -> list[str]:
    return [r["AccountNumber"] for r in sf.query.stream("SELECT AccountNumber FROM Account")]


def cli_env(org: Emulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(SF_INSTANCE_URL=org.instance_url, SF_ACCESS_TOKEN=str(org.access_token), **extra)
    if org.ca_cert_path:
        env["SF_CA_CERT_FILE"] = org.ca_cert_path
    return env


def forcelink_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "forcelink.cli", *args]


def run_cli(org: Emulator, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        forcelink_cli(*args), env=cli_env(org, **extra), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def slow_bulk_org(sf_emulator: Emulator) -> Iterator[Emulator]:
    """Each ingest job pauses a second after its batch: a load of several jobs can be caught
    part way."""
    sf_emulator.set_bulk_batch_delay(1.0)
    yield sf_emulator
    sf_emulator.set_bulk_batch_delay(0.0)


def hide_module(tmp_path: Path, name: str) -> str:
    """A PYTHONPATH under which ``import name`` fails, as on a machine without it."""
    package = tmp_path / "hidden" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    return os.pathsep.join([str(tmp_path / "hidden"), os.environ.get("PYTHONPATH", "")])


# -- Ctrl-C during a bulk load ---------------------------------------------------------------


def test_sigint_during_a_cli_load_prints_a_resume_line_that_loads_each_row_once(
    slow_bulk_org: Emulator, tmp_path: Path
) -> None:
    data = numbered_csv(tmp_path / "accounts.csv")
    sf = slow_bulk_org.client()
    load = subprocess.Popen(
        forcelink_cli(
            "bulk",
            "insert",
            "Account",
            str(data),
            "--max-records-per-job",
            str(PER_JOB),
            "--parallelism",
            "2",
        ),
        env=cli_env(slow_bulk_org),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The first job is alone and paused after its batch: interrupt while it runs.
    deadline = time.monotonic() + 60
    while not account_numbers(sf) and time.monotonic() < deadline:
        time.sleep(0.02)
    load.send_signal(signal.SIGINT)
    _, err = load.communicate(timeout=60)
    assert load.returncode == 130, err
    assert "rows never sent: " in err
    assert "goes on at Salesforce" in err
    resume_line = next(line for line in err.splitlines() if line.startswith("  forcelink bulk resume "))
    command = shlex.split(resume_line)
    assert command[:3] == ["forcelink", "bulk", "resume"]
    assert "--load" in command and "--rows" in command

    slow_bulk_org.set_bulk_batch_delay(0.0)
    finished = subprocess.run(
        forcelink_cli(*command[1:]), env=cli_env(slow_bulk_org), capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    numbers = account_numbers(sf)
    assert len(numbers) == ROWS
    assert set(numbers) == {f"N{i}" for i in range(1, ROWS + 1)}


CHILD_LOAD = textwrap.dedent(
    """
    import json, os, signal, sys
    from forcelink import BulkInterruptedError, Salesforce

    sf = Salesforce.from_env()
    interrupted = []

    def progress(event):
        # Ctrl-C once the first job runs at Salesforce.
        if event.kind == "job_state" and not interrupted:
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    try:
        sf.bulk.insert("Account", sys.argv[1], max_records_per_job=500, parallelism=2, progress=progress)
    except BulkInterruptedError as e:
        print(json.dumps({
            "keyboard_interrupt": isinstance(e, KeyboardInterrupt),
            "cause": type(e.__cause__).__name__,
            "job_ids": e.job_ids,
            "jobs": e.jobs,
            "unsent_rows": e.unsent_rows,
        }))
    """
)


def test_an_interrupted_python_load_raises_bulk_interrupted_error_and_can_be_finished(
    slow_bulk_org: Emulator, tmp_path: Path
) -> None:
    data = numbered_csv(tmp_path / "accounts.csv")
    child = subprocess.run(
        [sys.executable, "-c", CHILD_LOAD, str(data)],
        env=cli_env(slow_bulk_org),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["keyboard_interrupt"] is True
    assert report["cause"] == "KeyboardInterrupt"
    assert report["job_ids"], "the running job is named"
    assert [j["id"] for j in report["jobs"]] == report["job_ids"]
    assert all(j["state"] for j in report["jobs"])
    assert report["unsent_rows"], "jobs never started are unsent rows"

    slow_bulk_org.set_bulk_batch_delay(0.0)
    sf = slow_bulk_org.client()
    resumed = sf.bulk.resume(report["job_ids"])
    rows = [tuple(r) for r in report["unsent_rows"]]
    rest = sf.bulk.insert("Account", data, rows=rows, max_records_per_job=500)
    unsent = sum(last - first + 1 for first, last in rows)
    assert rest.records_processed == unsent
    assert resumed.records_processed + unsent == ROWS
    numbers = account_numbers(sf)
    assert sorted(numbers) == sorted(f"N{i}" for i in range(1, ROWS + 1))


def test_bulk_interrupted_error_is_both_an_incomplete_load_and_a_keyboard_interrupt() -> None:
    error = BulkInterruptedError("stopped", job_ids=["750A"], unsent_rows=[(4, 9)])
    assert isinstance(error, BulkIncompleteError)
    assert isinstance(error, KeyboardInterrupt)
    assert error.jobs == [{"id": "750A", "state": ""}]


def test_the_rows_option_loads_only_the_rows_named(sf_client: Salesforce, tmp_path: Path) -> None:
    sf = sf_client
    data = numbered_csv(tmp_path / "accounts.csv", rows=20)
    result = sf.bulk.insert("Account", data, rows=[(3, 5), (18, 18)])
    assert result.records_processed == 4
    assert sorted(account_numbers(sf)) == ["N18", "N3", "N4", "N5"]
    rows_of_dicts = [{"Name": f"D{i}", "AccountNumber": f"D{i}"} for i in range(1, 6)]
    sf.bulk.insert("Account", rows_of_dicts, rows=[(5, 5)])
    assert "D5" in account_numbers(sf) and "D4" not in account_numbers(sf)
    with pytest.raises(InvalidArgumentError) as raised:
        sf.bulk.insert("Account", data, rows=[(0, 2)])
    assert raised.value.argument == "rows"


# -- the Python API refuses what it cannot do, in its own terms ---------------------------------


def test_a_misspelt_bulk_option_is_a_type_error_naming_the_options(sf_client: Salesforce) -> None:
    sf = sf_client
    with pytest.raises(TypeError, match=r"paralelism.*parallelism"):
        sf.bulk.insert("Account", [{"Name": "Acme"}], paralelism=4)  # type: ignore[call-arg]
    assert account_numbers(sf) == []


def test_empty_bulk_data_is_a_salesforce_error(sf_client: Salesforce) -> None:
    sf = sf_client
    with pytest.raises(InvalidArgumentError) as raised:
        sf.bulk.insert("Account", [])
    assert isinstance(raised.value, SalesforceError)
    assert raised.value.argument == "data"


def test_a_bulk_load_of_an_unknown_object_is_invalid_type_as_over_rest(sf_client: Salesforce) -> None:
    sf = sf_client
    with pytest.raises(InvalidTypeError) as raised:
        sf.bulk.insert("Acount", [{"Name": "Acme"}])
    assert raised.value.error_code == "INVALIDJOB"


def test_a_sync_subscription_ends_after_its_idle_timeout(sf_client: Salesforce) -> None:
    sf = sf_client
    started = time.monotonic()
    with sf.events.subscribe("/data/AccountChangeEvent", timeout=0.5) as sub:
        events = list(sub)
        assert "closed" in repr(sub)
    assert events == []
    assert 0.4 < time.monotonic() - started < 30
    with pytest.raises(ValueError, match="timeout"):
        sf.events.subscribe("/data/AccountChangeEvent", timeout=-1)


def test_a_subscription_with_a_timeout_still_delivers_what_comes(sf_client: Salesforce) -> None:
    sf = sf_client
    with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest", timeout=1.0) as sub:
        sf.sobjects.create("Account", {"Name": "Acme"})
        received = list(sub)
    assert [e.header.change_type for e in received] == ["CREATE"]


def test_count_queries_answer_their_count(sf_client: Salesforce, sf_emulator: Emulator) -> None:
    sf = sf_client
    sf_emulator.seed_records("Account", [{"Name": f"A{i}"} for i in range(7)])
    assert sf.query.count("SELECT COUNT() FROM Account") == 7
    frame = sf.query.to_pandas("SELECT COUNT() FROM Account")
    assert frame.shape == (1, 1)
    assert int(frame.iloc[0, 0]) == 7
    done = run_cli(sf_emulator, "query", "SELECT COUNT() FROM Account")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"count": 7}


# -- reprs and names ---------------------------------------------------------------------------


def test_reprs_say_what_a_thing_is(sf_client: Salesforce) -> None:
    sf = sf_client
    assert "BulkQuery(" in repr(sf.bulk.query("SELECT Id FROM Account"))
    result = sf.bulk.insert("Account", [{"Name": "Acme"}])
    assert f"job_ids={result.job_ids!r}" in repr(result)
    client = type(sf).builder().instance_url(sf.instance_url).access_token("00D!x").build()
    assert "closed" not in repr(client)
    client.close()
    assert repr(client).endswith(", closed)")


def test_help_of_the_client_shows_its_services() -> None:
    import pydoc

    text = pydoc.render_doc(Salesforce, renderer=pydoc.plaintext)
    for service in ("sobjects", "query", "bulk", "events", "composite", "tooling", "files", "apex"):
        assert f"\n |  {service} = " in text, service
    for method in ("close", "with_options", "builder", "from_env"):
        assert f"\n |  {method}(" in text, method
    assert "circuit_breakers" in text


def test_result_classes_are_named_from_the_public_package(sf_client: Salesforce) -> None:
    sf = sf_client
    page = sf.query.query("SELECT Id FROM Account")
    saved = sf.sobjects.create("Account", {"Name": "Acme"})
    assert type(page).__module__ == type(saved).__module__ == "forcelink"
    with pytest.raises(TypeError) as raised:
        len(saved)  # type: ignore[arg-type]
    assert "'forcelink.SaveResult'" in str(raised.value)


# -- simple-salesforce idioms -------------------------------------------------------------------


def test_simple_salesforce_idioms_work_or_name_the_forcelink_call(sf_client: Salesforce) -> None:
    sf = sf_client
    saved = sf.sobjects.create("Account", {"Name": "Acme"})
    assert saved["id"] == saved.id and saved["success"] is True
    page = sf.query.query("SELECT Id, Name FROM Account")
    assert isinstance(page, QueryPage)
    assert page["records"][0]["Name"] == "Acme" and page[0]["Name"] == "Acme"
    assert (page["totalSize"], page["done"], page["nextRecordsUrl"]) == (1, True, None)
    with pytest.raises(KeyError, match="totalSize"):
        page["size"]
    with pytest.raises(TypeError, match=re.escape("sf.query.query(soql)")):
        sf.query("SELECT Id FROM Account")
    with pytest.raises(AttributeError, match=re.escape("sf.sobjects.create('Account'")):
        sf.Account  # noqa: B018
    with pytest.raises(AttributeError, match=re.escape("sf.bulk (sf.bulk.insert")):
        sf.bulk2  # noqa: B018
    with pytest.raises(AttributeError, match=r"has no attribute 'nonsense'$"):
        sf.nonsense  # noqa: B018
    with pytest.raises(TypeError, match=re.escape("builder()")):
        Salesforce(instance_url="https://x.my.salesforce.com", session_id="00D!x")  # type: ignore[call-arg]


def test_the_emulators_access_token_is_a_property_and_the_old_call_warns(sf_emulator: Emulator) -> None:
    token = sf_emulator.access_token
    assert isinstance(token, str) and "!" in token
    with pytest.warns(DeprecationWarning, match="property"):
        assert sf_emulator.access_token() == token


# -- the CLI's exit codes, hints and output ----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("subscribe", "/data/AccountChangeEvent", "--replay", "foo"),
        ("subscribe", "Account"),
        ("bulk", "insert", "Account", "/nonexistent/accounts.csv"),
        ("bulk", "resume"),
        ("bulk", "insert", "Account", "accounts.csv", "--rows", "5-2"),
    ],
)
def test_usage_and_input_errors_exit_2(sf_emulator: Emulator, args: tuple[str, ...]) -> None:
    done = run_cli(sf_emulator, *args)
    assert done.returncode == 2, done.stderr


def test_a_malformed_csv_exits_2(sf_emulator: Emulator, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('Name,Industry\n"unclosed,x\n')
    done = run_cli(sf_emulator, "bulk", "insert", "Account", str(bad))
    assert done.returncode == 2
    assert "CsvFormatError" in done.stderr


def test_metrics_without_prometheus_client_names_the_extra(sf_emulator: Emulator, tmp_path: Path) -> None:
    done = run_cli(
        sf_emulator, "--metrics-port", "0", "limits", PYTHONPATH=hide_module(tmp_path, "prometheus_client")
    )
    assert done.returncode == 3
    assert "forcelink[metrics]" in done.stderr
    assert "Traceback" not in done.stderr


def test_failed_rows_print_their_first_errors_and_a_hint(sf_emulator: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "accounts.csv"
    data.write_text("Name,NumberOfEmployees\nA,1\nB,many\nC,3\n")
    done = run_cli(
        sf_emulator, "bulk", "insert", "Account", str(data), PYTHONPATH=hide_module(tmp_path, "rich")
    )
    assert done.returncode == 1
    assert "failed row: JSON_PARSER_ERROR: " in done.stderr
    assert "--failed-out" in done.stderr
    # Without rich, progress is plain text, not Python dicts.
    assert "{'" not in done.stderr
    assert "job 750" in done.stderr and "JobComplete" in done.stderr


def test_csv_output_writes_a_subquery_as_json(sf_client: Salesforce, sf_emulator: Emulator) -> None:
    sf = sf_client
    account = sf.sobjects.create("Account", {"Name": "Acme"})
    sf.sobjects.create("Contact", {"LastName": "Ng", "AccountId": account.id})
    done = run_cli(
        sf_emulator, "query", "SELECT Name, (SELECT LastName FROM Contacts) FROM Account", "--format", "csv"
    )
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header == "Name,Contacts"
    contacts = json.loads(next(iter(__import__("csv").reader([row])))[1])
    assert [c["LastName"] for c in contacts] == ["Ng"]


def test_config_hints_fit_the_setting(sf_emulator: Emulator) -> None:
    version = run_cli(sf_emulator, "limits", SF_API_VERSION="sixty-two")
    assert version.returncode == 3
    assert "hint: SF_API_VERSION" in version.stderr
    assert "SF_PRIVATE_KEY" not in version.stderr
    no_token = subprocess.run(
        forcelink_cli("limits"),
        env={k: v for k, v in os.environ.items() if not k.startswith("SF_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_token.returncode == 3
    assert "hint: set SF_INSTANCE_URL and SF_ACCESS_TOKEN" in no_token.stderr


def test_help_lists_every_exit_code() -> None:
    done = subprocess.run(forcelink_cli("--help"), capture_output=True, text=True, timeout=60)
    for code in ("0", "1", "2", "3", "4", "5", "130", "141"):
        assert f"\n  {code} " in done.stdout, code


def test_subscribe_stops_after_its_timeout(sf_emulator: Emulator) -> None:
    done = run_cli(
        sf_emulator,
        "subscribe",
        "/data/AccountChangeEvent",
        "--timeout",
        "0.5",
        SF_PUBSUB_ENDPOINT=sf_emulator.pubsub_url,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command", [["emulator"], []])
def test_the_emulator_command_prints_quoted_export_lines(command: list[str]) -> None:
    prefix = forcelink_cli(*command) if command else [sys.executable, "-m", "forcelink_emulator.cli"]
    with subprocess.Popen([*prefix, "--shell"], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(4)]
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    token_line = next(line for line in lines if line.startswith("export SF_ACCESS_TOKEN="))
    assert shlex.split(token_line.removeprefix("export "))[0].count("!") == 1
    assert token_line.split("=", 1)[1].startswith("'")


def test_forcelink_emulator_takes_json_as_forcelink_emulator_does() -> None:
    with subprocess.Popen(forcelink_cli("emulator", "--json"), stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            settings = json.loads(proc.stdout.readline())
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert settings["SF_INSTANCE_URL"].startswith("http://127.0.0.1:")


def test_an_untrusted_certificate_is_not_retried_and_names_the_setting(tls_emulator: Emulator) -> None:
    from forcelink import ConnectError

    untrusted = (
        Salesforce.builder()
        .instance_url(tls_emulator.instance_url)
        .access_token(tls_emulator.access_token)
        .retries(4)
        .build()
    )
    with pytest.raises(ConnectError) as raised:
        untrusted.sobjects.get("Account", "001000000000001AAA")
    assert raised.value.attempts == 1
    assert "SF_CA_CERT_FILE" in str(raised.value)


def test_plain_http_to_a_tls_port_says_to_use_https(tls_emulator: Emulator) -> None:
    from forcelink import TransportError

    plain = tls_emulator.instance_url.replace("https://", "http://")
    sf = Salesforce.builder().instance_url(plain).access_token(tls_emulator.access_token).retries(1).build()
    with pytest.raises(TransportError, match="https://"):
        sf.sobjects.get("Account", "001000000000001AAA")


async def test_cancelling_an_async_load_interrupts_it_and_logs_what_to_resume(
    slow_bulk_org: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import logging

    data = numbered_csv(tmp_path / "accounts.csv")
    sf = slow_bulk_org.client()
    async_sf = slow_bulk_org.async_client()
    caplog.set_level(logging.WARNING, logger="forcelink")
    load = asyncio.ensure_future(
        async_sf.bulk.insert("Account", data, max_records_per_job=PER_JOB, parallelism=2)
    )
    deadline = time.monotonic() + 60
    while not account_numbers(sf) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    load.cancel()
    with pytest.raises(asyncio.CancelledError):
        await load
    while "bulk load interrupted" not in caplog.text and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert "bulk load interrupted" in caplog.text
    assert "750" in caplog.text
    # No job was started after the cancel: only the first job's rows ever reach the org.
    await asyncio.sleep(1.5)
    assert len(account_numbers(sf)) == PER_JOB
