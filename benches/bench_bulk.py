"""Bulk API 2.0 insert of 50,000 Accounts from a CSV file, ours against simple-salesforce's
bulk2, in one run.

Run: python -m pytest benches/bench_bulk.py --benchmark-group-by=group
Both clients load into the same emulator (in this process), which grows by every round; the
side-by-side script benches/compare_bulk_insert.py gives each run a fresh emulator process and
also reports peak memory and the org's own processing time. simple-salesforce waits 5 s before
its first poll, so its rounds take at least that long. Each benchmark checks every row was
processed without failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_bulk_insert import write_csv
from peers import simple_salesforce

from forcelink.testing import Emulator

ROWS = 50_000


@pytest.fixture(scope="module")
def accounts_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "accounts.csv"
    write_csv(path, ROWS)
    return path


@pytest.mark.benchmark(group=f"bulk insert {ROWS} rows")
def test_ours_bulk_insert(benchmark, bench_org: Emulator, accounts_csv: Path) -> None:  # type: ignore[no-untyped-def]
    sf = bench_org.client()
    result = benchmark.pedantic(lambda: sf.bulk.insert("Account", accounts_csv), rounds=3, iterations=1)
    assert (result.records_processed, result.records_failed) == (ROWS, 0)


@pytest.mark.benchmark(group=f"bulk insert {ROWS} rows")
def test_simple_salesforce_bulk2_insert(benchmark, bench_org: Emulator, accounts_csv: Path) -> None:  # type: ignore[no-untyped-def]
    peer = simple_salesforce(bench_org)
    results = benchmark.pedantic(lambda: peer.bulk2.Account.insert(str(accounts_csv)), rounds=3, iterations=1)
    assert sum(int(r["numberRecordsProcessed"]) for r in results) == ROWS
    assert sum(int(r["numberRecordsFailed"]) for r in results) == 0
