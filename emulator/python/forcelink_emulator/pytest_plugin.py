"""pytest fixtures of the local org, registered through the ``pytest11`` entry point:
``sf_emulator``, a fresh org per test, and ``sf_client``, a blocking forcelink client of it
(which needs the ``forcelink`` package)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .emulator import Emulator

if TYPE_CHECKING:
    from forcelink import Salesforce


@pytest.fixture
def sf_emulator() -> Iterator[Emulator]:
    """A local org on 127.0.0.1, stopped after the test."""
    with Emulator() as org:
        yield org


@pytest.fixture
def sf_client(sf_emulator: Emulator) -> Salesforce:
    """A blocking client of ``sf_emulator``, already authenticated."""
    return sf_emulator.client()
