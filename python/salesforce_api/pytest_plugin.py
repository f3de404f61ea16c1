"""pytest fixtures for code that uses salesforce_api, registered through the ``pytest11`` entry
point: ``sf_emulator`` (a fresh local org per test) and ``sf_client`` (a client of it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import Salesforce
from .testing import Emulator


@pytest.fixture
def sf_emulator() -> Iterator[Emulator]:
    """A local org on 127.0.0.1, stopped after the test."""
    with Emulator() as org:
        yield org


@pytest.fixture
def sf_client(sf_emulator: Emulator) -> Salesforce:
    """A blocking client of ``sf_emulator``, already authenticated."""
    return sf_emulator.client()
