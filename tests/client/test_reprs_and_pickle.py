"""Results and errors read as Python: reprs in Python's own notation (no Rust debug text such as
Some("...")), and they pickle, for multiprocessing pools and caches."""

from __future__ import annotations

import pickle

import pytest

from forcelink import (
    BulkIncompleteError,
    CollectionsIncompleteError,
    NotFoundError,
    OutcomeUnknownError,
    QueryPage,
    RecordResult,
    SaveResult,
    UpsertResult,
)
from forcelink.testing import Emulator


def test_reprs_are_python(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    saved = sf.sobjects.create("Account", {"Name": "Repr"})
    assert repr(saved) == f"SaveResult(id='{saved.id}', success=True)"
    page = sf.query.query("SELECT Id FROM Account", batch_size=200)
    assert repr(page) == "QueryPage(records=1, total_size=1, done=True, next_records_url=None)"
    sf_emulator.seed_records("Account", ({"Name": f"R{i}"} for i in range(300)))
    more = sf.query.query("SELECT Id FROM Account", batch_size=200)
    assert "next_records_url='/services/data/v" in repr(more) and "Some(" not in repr(more)
    token = repr(sf.auth.token())
    assert "org_id=None" in token and "access_token='***'" in token and "Some(" not in token
    upsert = sf.composite.collections.create([{"attributes": {"type": "Account"}, "Name": "C"}])
    assert repr(upsert[0]) == f"RecordResult(id='{upsert[0].id}', success=True, created=None)"
    field = sf.sobjects.describe("Account").field("Name")
    assert repr(field) == "FieldDescribe(name='Name', type='string')"
    for text in (repr(saved), repr(page), token, repr(upsert[0]), repr(field)):
        assert '"' not in text


def test_results_pickle(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    saved = sf.sobjects.create("Account", {"Name": "Pickled"})
    back = pickle.loads(pickle.dumps(saved))
    assert isinstance(back, SaveResult) and (back.id, back.success, back.errors) == (saved.id, True, [])
    page = sf.query.query("SELECT Id, Name FROM Account")
    again = pickle.loads(pickle.dumps(page))
    assert isinstance(again, QueryPage) and again.records == page.records and again.done
    up = UpsertResult("001000000000001AAA", True, True, [])
    assert pickle.loads(pickle.dumps(up)).created is True
    rec = RecordResult(None, False, [{"statusCode": "X", "message": "m", "fields": []}])
    assert pickle.loads(pickle.dumps(rec)).errors[0]["statusCode"] == "X"
    usage = sf.limits.usage
    assert usage is not None and pickle.loads(pickle.dumps(usage)).max == usage.max


def test_describe_results_pickle(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    describe = sf.sobjects.describe("Opportunity")
    back = pickle.loads(pickle.dumps(describe))
    assert type(back) is type(describe) and back.raw == describe.raw
    assert (back.name, back.key_prefix, back.queryable) == ("Opportunity", "006", True)
    assert [(f.name, f.type, f.reference_to) for f in back.fields] == [
        (f.name, f.type, f.reference_to) for f in describe.fields
    ]
    stage = describe.field("StageName")
    assert stage is not None
    stage_back = pickle.loads(pickle.dumps(stage))
    assert (stage_back.name, stage_back.type, stage_back.picklist_values, stage_back.nillable) == (
        "StageName",
        "picklist",
        stage.picklist_values,
        stage.nillable,
    )
    account = describe.field("AccountId")
    assert account is not None and pickle.loads(pickle.dumps(account)).relationship_name == "Account"
    everything = sf.sobjects.describe_global()
    again = pickle.loads(pickle.dumps(everything))
    assert (again.encoding, again.max_batch_size) == (everything.encoding, everything.max_batch_size)
    assert [(o.name, o.key_prefix, o.createable) for o in again.sobjects] == [
        (o.name, o.key_prefix, o.createable) for o in everything.sobjects
    ]
    assert pickle.loads(pickle.dumps(everything.sobjects[0])).name == everything.sobjects[0].name


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("gone", error_code="NOT_FOUND", status=404, fields=["Id"]),
        OutcomeUnknownError("lost", error_code="OUTCOME_UNKNOWN"),
        BulkIncompleteError("stopped", job_ids=["750A"], records_processed=3, unsent_rows=[(4, 9)]),
        CollectionsIncompleteError("partly", results=[RecordResult("001", True, [])]),
    ],
)
def test_errors_pickle_with_their_fields(error: Exception) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert vars(back).keys() == vars(error).keys()
    for name in vars(error):
        if name != "results":
            assert getattr(back, name) == getattr(error, name), name
