"""The packages as users install them: the client wheel in a fresh virtual environment with no
emulator and no dev tools, driving a standalone emulator process; the emulator wheel on its own
(without forcelink), driven by simple-salesforce; one version and one license everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import forcelink_emulator
import pytest
import requests
import tomllib
from simple_salesforce import Salesforce as SimpleSalesforce

import forcelink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both wheels, built from the checkout with the dev build's profile (cargo reuses its work)."""
    out = tmp_path_factory.mktemp("wheels")
    for project in (ROOT, ROOT / "emulator"):
        subprocess.run(
            [sys.executable, "-m", "maturin", "build", "--locked", "--quiet", "-o", str(out)],
            cwd=project,
            check=True,
        )
    return out


def wheel(wheelhouse: Path, name: str) -> Path:
    (found,) = wheelhouse.glob(f"{name}-*.whl")
    return found


def fresh_venv(where: Path, *requirements: str) -> Path:
    """A virtual environment with only pip and ``requirements``; returns its python."""
    venv.create(where, with_pip=True)
    python = where / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    return python


@contextmanager
def standalone_emulator(command: list[str]) -> Iterator[dict[str, str]]:
    """Runs ``forcelink-emulator --tls --json`` and yields the settings it printed."""
    with subprocess.Popen([*command, "--tls", "--json"], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            settings: dict[str, str] = json.loads(proc.stdout.readline())
            yield settings
        finally:
            proc.terminate()
            assert proc.wait(timeout=20) == 0


def test_the_client_wheel_works_in_a_fresh_venv_without_the_emulator(
    wheelhouse: Path, tmp_path: Path
) -> None:
    client = wheel(wheelhouse, "forcelink")
    with zipfile.ZipFile(client) as zf:
        names = zf.namelist()
    assert not any(n.startswith("forcelink_emulator") for n in names)
    assert any(n.endswith("LICENSE") for n in names)
    python = fresh_venv(tmp_path / "client", str(client))
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True)
    installed = {line.split()[0].lower() for line in listed.stdout.splitlines()[2:]}
    assert installed == {"forcelink", "orjson", "pip"} | ({"setuptools"} & installed)
    emulator_command = [sys.executable, "-m", "forcelink_emulator.cli"]
    with standalone_emulator(emulator_command) as settings:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
        env.update({k: v for k, v in settings.items() if k.startswith("SF_")})
        done = subprocess.run(
            [str(python), str(ROOT / "tests" / "packaging" / "smoke" / "client_smoke.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not the checkout, whose python/ must not be imported
        )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["version"] == forcelink.__version__
    assert (seen["name"], seen["count"], seen["bulk_processed"]) == ("Smoke", 1, 250)
    assert seen["first_change"] == "CREATE"
    assert seen["emulator_present"] is False
    assert "pip install 'forcelink[emulator]'" in seen["testing_error"]
    assert seen["demo_exit"] == 3 and "forcelink[emulator]" in seen["demo_stderr"]


def test_the_emulator_wheel_serves_simple_salesforce_on_its_own(wheelhouse: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "emulator", str(wheel(wheelhouse, "forcelink_emulator")))
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True)
    assert "forcelink " not in listed.stdout  # no client inside
    command = [str(python.parent / ("forcelink-emulator.exe" if os.name == "nt" else "forcelink-emulator"))]
    with standalone_emulator(command) as settings:
        session = requests.Session()
        session.verify = settings["SF_CA_CERT_FILE"]
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
        sf = SimpleSalesforce(
            instance_url=settings["SF_INSTANCE_URL"],
            session_id=settings["SF_ACCESS_TOKEN"],
            session=session,
            version="62.0",
        )
        created = sf.Account.create({"Name": "From simple-salesforce", "Industry": "Energy"})
        assert created["success"] is True and created["id"].startswith("001")
        assert sf.Account.get(created["id"])["Industry"] == "Energy"
        sf.Account.update(created["id"], {"Industry": "Technology"})
        rows = sf.query_all("SELECT Id, Name, Industry FROM Account")
        assert rows["totalSize"] == 1 and rows["records"][0]["Industry"] == "Technology"
        assert sf.Account.delete(created["id"]) == 204
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
        session.close()


def test_one_version_and_one_license() -> None:
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    version = cargo["workspace"]["package"]["version"]
    assert forcelink.__version__ == forcelink_emulator.__version__ == version
    client = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert client["optional-dependencies"]["emulator"] == [f"forcelink-emulator=={version}"]
    emulator = tomllib.loads((ROOT / "emulator" / "pyproject.toml").read_text())["project"]
    assert client["license"] == emulator["license"] == cargo["workspace"]["package"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_bytes() == (ROOT / "emulator" / "LICENSE").read_bytes()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {version}" in changelog
