"""pytest fixtures for code that uses forcelink, registered through the ``pytest11`` entry
point (the local org's fixtures, ``sf_emulator`` and ``sf_client``, come with forcelink-emulator):

- ``sf_cassette``: records a test's HTTP traffic to ``cassettes/<test>.jsonl`` beside the test
  file, or replays it with no network. The mode is ``--sf-cassette-mode`` or
  ``SF_CASSETTE_MODE``: ``record``, ``replay``, or ``auto`` (the default: replay when the
  cassette exists, record otherwise). Wire it in with ``sf_cassette.configure(builder)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from ._core import SimulationRecorder, SimulationReplayer
from .config import ClientBuilder

ClientT = TypeVar("ClientT")
MODES = ("record", "replay", "auto")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sf-cassette-mode",
        choices=MODES,
        default=None,
        help="sf_cassette: record, replay, or auto (replay when the cassette exists)",
    )


class Cassette:
    """One test's cassette, in record or replay mode."""

    def __init__(self, path: Path, mode: str) -> None:
        self.path = path
        self.mode = mode
        self._recorder = SimulationRecorder() if mode == "record" else None
        self._replayer = SimulationReplayer.load(path) if mode == "replay" else None

    def configure(self, builder: ClientBuilder[ClientT]) -> ClientBuilder[ClientT]:
        """Records through, or replays into, the clients this builder builds."""
        if self._recorder is not None:
            return builder.with_recorder(self._recorder)
        if self._replayer is not None:
            return builder.with_replayer(self._replayer)
        return builder

    def save(self) -> None:
        if self._recorder is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._recorder.save(self.path)

    def __repr__(self) -> str:
        return f"Cassette({self.path.name!r}, mode={self.mode!r})"


@pytest.fixture
def sf_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """The test's cassette; saved after the test when recording."""
    mode = request.config.getoption("--sf-cassette-mode") or os.environ.get("SF_CASSETTE_MODE") or "auto"
    if mode not in MODES:
        raise pytest.UsageError(f"SF_CASSETTE_MODE must be one of {MODES}, got {mode!r}")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = Path(str(request.node.path)).parent / "cassettes" / f"{name}.jsonl"
    if mode == "auto":
        mode = "replay" if path.exists() else "record"
    cassette = Cassette(path, mode)
    yield cassette
    cassette.save()
