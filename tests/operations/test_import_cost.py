"""`import forcelink` stays light: asyncio, logging, orjson, urllib and pyarrow load when first
used, and the engine's warnings still reach `logging` in a program that never imported it."""

from __future__ import annotations

import os
import subprocess
import sys

from forcelink.testing import Emulator

HEAVY = ("asyncio", "logging", "orjson", "urllib.parse", "pyarrow", "prometheus_client", "forcelink_emulator")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_importing_and_building_a_client_loads_none_of_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from forcelink import Salesforce\n"
        "sf = Salesforce.builder().instance_url('https://example.my.salesforce.com').access_token('t').build()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_warning_reaches_logging_in_a_program_that_never_imported_it() -> None:
    with Emulator() as org:
        org.create_connected_app("secret-app", client_secret="right")
        code = (
            "import sys\n"
            "from forcelink import Salesforce\n"
            "from forcelink.errors import AuthError\n"
            "sf = Salesforce.from_env()\n"
            "assert 'logging' not in sys.modules\n"
            "try:\n"
            "    sf.limits.get()\n"
            "except AuthError as e:\n"
            "    print('refused:', e.error_code)\n"
            "print('logging loaded:', 'logging' in sys.modules)\n"
        )
        done = run_python(
            code,
            SF_INSTANCE_URL=org.instance_url,
            SF_LOGIN_URL=org.login_url,
            SF_CLIENT_ID="secret-app",
            SF_CLIENT_SECRET="wrong",
        )
    assert done.returncode == 0, done.stderr
    assert "refused: invalid_client" in done.stdout
    assert "logging loaded: True" in done.stdout
    # logging's last-resort handler prints WARNING records when nothing is configured.
    assert "token request refused" in done.stderr
    assert "wrong" not in done.stderr


def test_debug_records_reach_a_logger_configured_before_the_client_is_built() -> None:
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(name)s %(message)s')\n"
        "from forcelink import Salesforce\n"
        "sf = Salesforce.from_env()\n"
        "sf.limits.get()\n"
    )
    with Emulator() as org:
        done = run_python(code, SF_INSTANCE_URL=org.instance_url, SF_ACCESS_TOKEN=org.access_token)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("forcelink.") for line in done.stdout.splitlines()), done.stdout
