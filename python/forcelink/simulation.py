"""Record and replay at the transport boundary, and a fake transport for unit tests.

>>> recorder = SimulationRecorder()
>>> sf = Salesforce.builder().instance_url(url).access_token(token).with_recorder(recorder).build()
>>> ...  # every HTTP interaction is kept, tokens, secrets and keys redacted
>>> recorder.save("session.jsonl")
>>> replayer = SimulationReplayer.load("session.jsonl")  # strict: unmatched requests raise
>>> sf = Salesforce.builder().instance_url(url).access_token("x").with_replayer(replayer).build()

Requests are matched on method, path, query and body (JSON compared as values, secrets
ignored); in any order unless ``ordered=True``. An unmatched request raises
``SimulationError`` naming it.
"""

from __future__ import annotations

from ._core import FakeTransport, SimulationRecorder, SimulationReplayer

__all__ = ["FakeTransport", "SimulationRecorder", "SimulationReplayer"]
