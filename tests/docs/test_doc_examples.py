"""Every Python example in README.md and docs/ runs against the emulator: each block is run
in its own process (tests/docs/doc_examples/run_example.py), after a prelude that makes the names the
examples take as given (``sf``, ``token``, ``records``, ...) real. An example that does not run
fails here. Blocks that include a file of examples/ are run by test_examples.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from forcelink.testing import Emulator

from ..auth_keys import app_key
from ..conftest import INVOICE_FIELDS

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("doc_examples") / "run_example.py"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text()
        for match in BLOCK.finditer(text):
            source = match.group(1)
            if source.lstrip().startswith("--8<--"):
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", source))
    return found


EXAMPLES = examples()


def test_the_documentation_has_examples_to_run() -> None:
    assert len(EXAMPLES) >= 15, [where for where, _ in EXAMPLES]


@pytest.fixture(scope="module")
def doc_org() -> Iterator[Emulator]:
    with Emulator(tls=True) as org:
        org.define_object("Invoice__c", INVOICE_FIELDS)
        org.define_event("Order__e", {"Order_Number__c": "text"})
        org.define_managed_subscription("Orders_Sub", "/event/Order__e", replay="earliest")
        org.register_apex("/orders", lambda request: {"received": request.body})
        # The Connected App the examples name (client_id, username in the prelude), approved.
        org.create_user("user@acme.com")
        org.create_connected_app("example-app", certificate_pem=app_key().certificate)
        org.issue_refresh_token("example-app", "user@acme.com")
        sf = org.client()
        sf.events.publish("Order__e", {"Order_Number__c": "0"})
        sf.sobjects.create("Account", {"Name": "Acme"})
        yield org


def write_inputs(where: Path) -> None:
    """The files the examples name: CSV to load, a document to upload, a JWT signing key."""
    (where / "accounts.csv").write_text("Name,Industry\nAcme,Energy\nGlobex,Retail\n")
    (where / "big.csv").write_text("Name\n" + "".join(f"Big {i}\n" for i in range(500)))
    (where / "report.pdf").write_bytes(b"%PDF-1.4\n% an example document\n")
    (where / "server.key").write_text(app_key().private_pkcs8)
    (where / "server.crt").write_text(app_key().certificate)


@pytest.mark.parametrize(("where", "source"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_the_example_runs(where: str, source: str, doc_org: Emulator, tmp_path: Path) -> None:
    write_inputs(tmp_path)
    example = tmp_path / "example.py"
    example.write_text(source)
    env = {
        **os.environ,
        "SF_INSTANCE_URL": doc_org.instance_url,
        "SF_LOGIN_URL": doc_org.login_url,
        "SF_PUBSUB_ENDPOINT": doc_org.pubsub_url,
        # A session of its own: an example that revokes its token leaves the others theirs.
        "SF_ACCESS_TOKEN": doc_org.issue_session(),
        "SF_CA_CERT_FILE": doc_org.ca_cert_path or "",
        # Spark examples: the executors' workers run this interpreter, on loopback.
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    ran = subprocess.run(
        [sys.executable, str(RUNNER), str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ran.returncode == 0, f"{where} failed:\n{ran.stderr[-3000:]}"
