"""The Tooling API through sf.tooling, sync and async: ApexClass records created, queried,
updated and deleted; anonymous Apex compiled and run, its failures reported in the result."""

from __future__ import annotations

import pytest

from forcelink import InvalidArgumentError, NotFoundError
from forcelink.testing import Emulator

CLASS_BODY = "public class Greeter {\n    public static String hello() { return 'hi'; }\n}"


def test_apex_classes_through_the_tooling_api(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    created = sf.tooling.create("ApexClass", {"Name": "Greeter", "Body": CLASS_BODY, "ApiVersion": 62.0})
    assert created.success and created.id.startswith("01p")
    page = sf.tooling.query("SELECT Id, Name, Status, Body FROM ApexClass")
    assert page.total_size == 1 and page.done
    (record,) = page.records
    assert (record["Name"], record["Status"], record["Body"]) == ("Greeter", "Active", CLASS_BODY)
    sf.tooling.update("ApexClass", created.id, {"Status": "Inactive"})
    assert sf.tooling.get("ApexClass", created.id)["Status"] == "Inactive"
    described = sf.tooling.describe("ApexClass")
    assert described["name"] == "ApexClass" and described["keyPrefix"] == "01p"
    assert {"Name", "Body", "Status", "ApiVersion"} <= {f["name"] for f in described["fields"]}
    # The same object through the REST API, as in Salesforce.
    assert sf.query.query("SELECT Name FROM ApexClass").records[0]["Name"] == "Greeter"
    sf.tooling.delete("ApexClass", created.id)
    with pytest.raises(NotFoundError):
        sf.tooling.get("ApexClass", created.id)
    with pytest.raises(InvalidArgumentError):
        sf.tooling.get("ApexClass", "not-an-id")
    sf_emulator.seed_records("ApexClass", ({"Name": f"C{i}", "Body": "x"} for i in range(2_100)))
    assert len(sf.tooling.query_all("SELECT Id FROM ApexClass")) == 2_100


def test_execute_anonymous_reports_compile_errors_and_exceptions(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    ran = sf.tooling.execute_anonymous("Integer total = 1 + 2;\nSystem.debug(total);")
    assert (ran.compiled, ran.success, ran.line, ran.compile_problem) == (True, True, -1, None)
    broken = sf.tooling.execute_anonymous("System.debug('unclosed';")
    assert (broken.compiled, broken.success, broken.line) == (False, False, 1)
    assert broken.compile_problem is not None
    failed = sf.tooling.execute_anonymous("Integer i = 1;\nSystem.assert(false);")
    assert (failed.compiled, failed.success, failed.line) == (True, False, 2)
    assert failed.exception_message == "System.AssertException: Assertion Failed"


async def test_the_async_twin(sf_emulator: Emulator) -> None:
    sf = sf_emulator.async_client()
    made = await sf.tooling.create("ApexClass", {"Name": "AsyncOne", "Body": CLASS_BODY})
    page = await sf.tooling.query("SELECT Name FROM ApexClass")
    assert [r["Name"] for r in page] == ["AsyncOne"]
    assert (await sf.tooling.execute_anonymous("System.debug(1);")).success
    await sf.tooling.delete("ApexClass", made.id)
