"""The command line as a new user meets it: one exit code per failure kind, credentials named
as SF_* variables, tab delimiters, ``-`` for standard input and output, a failed job's
message, records without ``attributes``, ``bulk resume``, a replay with no credentials, and
quiet endings on a broken pipe or Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forcelink.cli import (
    EXIT_API,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_ROWS_FAILED,
    main,
)
from forcelink.testing import Emulator

from ..conftest import point_env_at


@pytest.fixture
def env(sf_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)
    point_env_at(monkeypatch, sf_emulator)
    return sf_emulator


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in (
        "3    configuration or credentials",
        "4    network",
        "5    the API refused",
        "1    a bulk job",
    ):
        assert line in out


def test_missing_credentials_name_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)
    assert main(["limits"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "SF_INSTANCE_URL" in err and "SF_ACCESS_TOKEN" in err
    assert "call instance_url()" not in err


def test_a_network_failure_and_an_api_error_have_their_own_codes(
    env: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "SELECT Nope FROM Account"]) == EXIT_API
    assert "INVALID_FIELD" in capsys.readouterr().err
    monkeypatch.setenv("SF_INSTANCE_URL", "http://127.0.0.1:9")  # nothing listens there
    assert main(["limits"]) == EXIT_NETWORK


def test_query_prints_fields_without_attributes(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    sf = env.client()
    account = sf.sobjects.create("Account", {"Name": "Acme"}).id
    sf.sobjects.create("Contact", {"LastName": "Ng", "AccountId": account})
    assert main(["query", "SELECT LastName, Account.Name FROM Contact"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"LastName": "Ng", "Account": {"Name": "Acme"}}
    assert main(["query", "SELECT LastName, Account.Name FROM Contact", "--format", "csv"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == ["LastName,Account.Name", "Ng,Acme"]


def test_bulk_from_stdin_with_tabs_to_stdout_and_resume(
    env: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tsv = b"Name\tAccountNumber\nA\t1\nB\t2\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(tsv)))
    assert main(["bulk", "insert", "Account", "-", "--delimiter", "tab", "--parallelism", "1"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["records_processed"] == 2 and summary["records_failed"] == 0
    assert main(["bulk", "resume", *summary["job_ids"]]) == EXIT_OK
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["records_processed"] == 2

    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    assert main(["bulk", "query", "SELECT Name FROM Account ORDER BY Name", "--out", "-"]) == EXIT_OK
    sys.stdout.flush()
    assert out.getvalue().decode().split() == ['"Name"', '"A"', '"B"']


def test_rows_that_failed_and_a_failed_job(
    env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "a.csv"
    data.write_text("Name,AccountNumber\nGood,1\n,2\n")
    assert main(["bulk", "insert", "Account", str(data)]) == EXIT_ROWS_FAILED
    capsys.readouterr()
    env.fail_bulk_jobs_after(0)
    assert main(["bulk", "insert", "Account", str(data)]) == EXIT_ROWS_FAILED
    err = capsys.readouterr().err
    assert "ended Failed:" in err and "no message" not in err


def test_a_replay_needs_no_credentials(
    env: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = tmp_path / "limits.jsonl"
    assert main(["limits", "--record", str(cassette)]) == EXIT_OK
    recorded = json.loads(capsys.readouterr().out)
    monkeypatch.delenv("SF_ACCESS_TOKEN")
    monkeypatch.delenv("SF_INSTANCE_URL")
    assert main(["limits", "--replay", str(cassette)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == recorded


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "forcelink.cli", *args]


def test_a_broken_pipe_and_ctrl_c_end_quietly(env: Emulator) -> None:
    env.seed_records("Account", [{"Name": f"A{i}"} for i in range(3_000)])
    environ = {**os.environ, "SF_INSTANCE_URL": env.instance_url, "SF_ACCESS_TOKEN": env.access_token}
    with subprocess.Popen(
        cli("query", "SELECT Id, Name FROM Account"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.readline()
        reader.stdout.close()  # as `| head -1` does
        reader.wait(timeout=30)
        assert b"Traceback" not in reader.stderr.read()
    assert reader.returncode == 141

    env.define_event("Quiet__e", {"Note__c": "text"})
    with subprocess.Popen(
        cli("subscribe", "/event/Quiet__e"), stderr=subprocess.PIPE, env=environ
    ) as waiting:
        time.sleep(1.5)
        waiting.send_signal(signal.SIGINT)
        assert waiting.wait(timeout=30) == EXIT_INTERRUPTED
        assert waiting.stderr is not None and b"Traceback" not in waiting.stderr.read()


def test_bulk_query_reports_each_page_written(
    env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.seed_records("Account", [{"Name": f"P{i}"} for i in range(5)])
    out = tmp_path / "out.csv"
    assert (
        main(["bulk", "query", "SELECT Name FROM Account", "--out", str(out), "--max-records", "2"])
        == EXIT_OK
    )
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("page ")] == [
        "page 1: 2 records written",
        "page 2: 4 records written",
        "page 3: 5 records written",
    ]
    assert len(out.read_text().splitlines()) == 6
