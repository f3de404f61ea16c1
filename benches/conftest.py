from __future__ import annotations

from collections.abc import Iterator

import pytest

from forcelink.testing import Emulator


@pytest.fixture(scope="module")
def bench_org() -> Iterator[Emulator]:
    with Emulator(tls=True, api_limit=10_000_000) as org:
        yield org
