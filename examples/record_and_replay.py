"""Record a session against an org once, then replay it offline: the replayed client answers
from the cassette, with no network and no credentials, and refuses a request it never saw.

Tokens, secrets and keys are redacted from the cassette, so it can be committed beside the
tests that replay it."""

import tempfile
from pathlib import Path

from forcelink import Salesforce
from forcelink.errors import SimulationError
from forcelink.simulation import SimulationRecorder, SimulationReplayer

SOQL = "SELECT Id, Name FROM Account WHERE Name = 'Recorded Example'"

with tempfile.TemporaryDirectory() as folder:
    cassette = Path(folder) / "session.jsonl"

    # 1. Record: a real client (here from SF_* settings), every interaction kept.
    recorder = SimulationRecorder()
    with Salesforce.builder(from_env=True).with_recorder(recorder).build() as sf:
        record_id = sf.sobjects.create("Account", {"Name": "Recorded Example"}).id
        recorded = sf.query.query_all(SOQL).records
    recorder.save(cassette)
    print(f"recorded {len(recorder)} interactions into {cassette.name}")
    assert "Bearer" not in cassette.read_text(), "the token never reaches the cassette"

    # 2. Replay: the same calls, answered from the cassette. The instance URL and token are
    # placeholders: nothing is sent.
    replayer = SimulationReplayer.load(cassette)
    offline = (
        Salesforce.builder()
        .instance_url("https://replay.invalid.example.com")
        .access_token("not-a-real-token")
        .with_replayer(replayer)
        .build()
    )
    with offline:
        created = offline.sobjects.create("Account", {"Name": "Recorded Example"})
        replayed = offline.query.query_all(SOQL).records
        assert created.id == record_id and replayed == recorded
        print(f"replayed: created {created.id}, queried {len(replayed)} record(s), {replayer.remaining} left")
        try:
            offline.sobjects.get("Account", record_id)  # never recorded
        except SimulationError as refused:
            print("an unrecorded request is refused:", type(refused).__name__)
