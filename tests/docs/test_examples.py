"""Every script in examples/ runs, configured from SF_* variables, against a standalone
forcelink-emulator process: an example that no longer runs fails the build."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import standalone_emulator_env

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


@pytest.fixture(scope="module")
def org_env() -> Iterator[dict[str, str]]:
    with standalone_emulator_env() as env:
        env.update(PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
        yield env


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, org_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(script)], env=org_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "an example prints what it did"
