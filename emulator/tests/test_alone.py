"""The package stands alone: it imports, serves and answers without forcelink installed."""

from __future__ import annotations

import importlib.util
import os

import pytest
from forcelink_emulator import Emulator

from .conftest import API, call_json


@pytest.mark.skipif(
    os.environ.get("FORCELINK_EMULATOR_ALONE") != "1",
    reason="only in scripts/test.sh's emulator-only environment, where forcelink is absent",
)
def test_forcelink_is_not_installed_here() -> None:
    assert importlib.util.find_spec("forcelink") is None


def test_the_client_helper_names_the_missing_package() -> None:
    if importlib.util.find_spec("forcelink") is not None:
        pytest.skip("forcelink is installed in this environment")
    with Emulator() as org, pytest.raises(ImportError, match="forcelink"):
        org.client()


def test_an_org_starts_serves_and_stops(sf_emulator: Emulator) -> None:
    """The plugin's ``sf_emulator`` fixture: a running org on 127.0.0.1."""
    assert sf_emulator.instance_url.startswith("http://127.0.0.1:")
    assert sf_emulator.org_id.startswith("00D")
    status, created = call_json(sf_emulator, "POST", f"{API}/sobjects/Account", {"Name": "Alone"})
    assert status == 201
    status, record = call_json(sf_emulator, "GET", f"{API}/sobjects/Account/{created['id']}")
    assert (status, record["Name"]) == (200, "Alone")


def test_seeded_records_are_queried_back_in_pages() -> None:
    with Emulator() as org:
        ids = org.seed_records("Account", ({"Name": f"S{i:04}"} for i in range(2_100)))
        assert len(ids) == len(set(ids)) == 2_100
        status, page = call_json(org, "GET", f"{API}/query?q=SELECT+Name+FROM+Account+ORDER+BY+Name")
        assert status == 200
        assert page["totalSize"] == 2_100
        assert len(page["records"]) == 2_000
        assert page["done"] is False
        status, rest = call_json(org, "GET", page["nextRecordsUrl"])
        assert [r["Name"] for r in rest["records"]] == [f"S{i:04}" for i in range(2_000, 2_100)]
        assert rest["done"] is True


def test_a_stopped_org_refuses_connections() -> None:
    org = Emulator().start()
    url = org.instance_url
    org.stop()
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/services/data", timeout=5)
