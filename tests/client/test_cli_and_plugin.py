"""The command line and the pytest plugin's fixtures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from forcelink import Salesforce
from forcelink.testing import Emulator


def test_forcelink_demo_runs_each_step() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "forcelink.cli", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("-> created Account 001") for line in lines)
    assert any("created=True" in line for line in lines)
    assert any("created=False (same id: True)" in line for line in lines)
    assert any("EntityDeletedError" in line for line in lines)
    assert lines[-1] == "demo finished: every step succeeded"


def test_forcelink_emulator_serves_until_stopped() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "forcelink.cli", "emulator"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        try:
            assert proc.stdout is not None
            settings = {}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if line.startswith("# org ") or not line:
                    break
                if line.startswith("SF_") and "=" in line:
                    key, value = line.strip().split("=", 1)
                    settings[key] = value
            sf = (
                Salesforce.builder()
                .instance_url(settings["SF_INSTANCE_URL"])
                .access_token(settings["SF_ACCESS_TOKEN"])
                .build()
            )
            assert sf.sobjects.create("Account", {"Name": "via cli org"}).success
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0


def test_plugin_fixtures(sf_emulator: Emulator, sf_client: Salesforce) -> None:
    assert sf_client.instance_url == sf_emulator.instance_url
    saved = sf_client.sobjects.create("Lead", {"LastName": "Fixture", "Company": "Plugin Inc"})
    lead = sf_client.sobjects.get("Lead", saved.id)
    assert lead["Status"] == "Open - Not Contacted"  # the picklist default
    assert sf_emulator.stats()["requests"]["POST sobjects/{object}"] == 1
