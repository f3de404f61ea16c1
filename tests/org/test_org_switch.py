"""The real-org switch, proved on the emulator: the `org` tests run with FORCELINK_TEST_ORG=env
and nothing but SF_* settings (here a standalone emulator's, over TLS), as CI's integration job
runs them against a sandbox. They would fail if they reached for anything the emulator alone
provides."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ..conftest import standalone_emulator_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_org_tests_pass_through_the_env_switch() -> None:
    with standalone_emulator_env() as env:
        env["FORCELINK_TEST_ORG"] = "env"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "org", "-q", str(ROOT / "tests")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 6, done.stdout[-1000:]
    assert "failed" not in done.stdout and "skipped" not in done.stdout
