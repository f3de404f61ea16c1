"""The ``forcelink-emulator`` command: it prints what a client needs, serves it, and stops on
SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

COMMAND = [sys.executable, "-m", "forcelink_emulator.cli"]


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The command running with ``args``; yields the process and its first line of output."""
    process = subprocess.Popen(
        [*COMMAND, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        yield process, first
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def get(url: str, token: str, **kwargs: Any) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30, **kwargs) as response:
        return json.loads(response.read())


def test_json_settings_reach_a_serving_org_with_seeded_accounts() -> None:
    with serving("--json", "--seed-accounts", "25") as (process, first):
        settings = json.loads(first)
        assert set(settings) >= {"SF_INSTANCE_URL", "SF_LOGIN_URL", "SF_ACCESS_TOKEN", "org_id"}
        assert "SF_CA_CERT_FILE" not in settings
        page = get(
            settings["SF_INSTANCE_URL"] + "/services/data/v62.0/query?q=SELECT+COUNT()+FROM+Account",
            settings["SF_ACCESS_TOKEN"],
        )
        assert page["totalSize"] == 25
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_tls_settings_name_a_ca_file_that_verifies_the_org() -> None:
    import ssl

    with serving("--json", "--tls") as (_, first):
        settings = json.loads(first)
        assert settings["SF_INSTANCE_URL"].startswith("https://")
        context = ssl.create_default_context(cafile=settings["SF_CA_CERT_FILE"])
        limits = get(
            settings["SF_INSTANCE_URL"] + "/services/data/v62.0/limits",
            settings["SF_ACCESS_TOKEN"],
            context=context,
        )
        assert limits["DailyApiRequests"]["Max"] == 100_000


def test_shell_lines_quote_the_token_and_a_bad_port_is_refused() -> None:
    with serving("--shell") as (_, first):
        assert first.startswith("export SF_INSTANCE_URL=")
    refused = subprocess.run([*COMMAND, "--port", "70000"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "--port must be 0 to 65535" in refused.stderr
