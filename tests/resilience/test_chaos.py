"""Chaos: 10,000 mixed operations (creates, upserts, updates, deletes, gets, query pages,
collections, a bulk load) from threads and asyncio tasks against an org answering about 10%
of requests with seeded faults (503, UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED with
Retry-After, latency, connections dropped before and after the write was committed).

Each write carries a unique key. Every failure must be a typed SalesforceError, and saying
so is the contract: OutcomeUnknownError means the write may have happened, any other error
that it did not. Afterwards the org is counted by key: nothing the client reported done is
missing, nothing it reported not done is there, and nothing is there twice."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from forcelink import (
    AsyncSalesforce,
    BulkIncompleteError,
    OutcomeUnknownError,
    Salesforce,
    SalesforceError,
)
from forcelink.testing import Emulator

from ..conftest import INVOICE_FIELDS

OPERATIONS = 10_000
THREADS = 4
TASKS = 4
SEED = 20261202


@dataclass
class Ledger:
    """What the client said of each write: done, not done, or may have been done."""

    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    untyped: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, key: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(kind, key)] = outcome

    def failed(self, kind: str, key: str, error: BaseException) -> None:
        with self.lock:
            self.errors[type(error).__name__] += 1
            if not isinstance(error, SalesforceError):
                self.untyped.append(error)
                return
            self.outcomes[(kind, key)] = "maybe" if isinstance(error, OutcomeUnknownError) else "not"

    def collection_written(self, key: str, results: list[Any]) -> None:
        for j, r in enumerate(results):
            self.record("create", f"{key}-{j}", "done" if r.success else "not")

    def operation_failed(self, kind: str, key: str, error: BaseException) -> None:
        """A collection's failure counts for each of its records."""
        if kind == "collection":
            for j in range(COLLECTION_SIZE):
                self.failed("create", f"{key}-{j}", error)
        else:
            self.failed(kind, key, error)


COLLECTION_SIZE = 3


def collection(key: str) -> list[dict[str, Any]]:
    return [
        {"attributes": {"type": "Account"}, "Name": f"{key}-{j}", "AccountNumber": f"{key}-{j}"}
        for j in range(COLLECTION_SIZE)
    ]


def plan(seed_ids: list[str]) -> list[tuple[str, str, str | None]]:
    """(kind, key, record id) for every operation, shuffled by the seed."""
    rng = random.Random(SEED)
    kinds = rng.choices(
        ["create", "upsert", "update", "delete", "get", "query", "collection"],
        weights=[30, 20, 15, 10, 10, 10, 5],
        k=OPERATIONS,
    )
    ids = iter(seed_ids)
    return [
        (kind, f"K{i:05d}", next(ids, "") if kind in ("update", "delete", "get") else None)
        for i, kind in enumerate(kinds)
    ]


def run_sync(sf: Salesforce, kind: str, key: str, record_id: str | None, ledger: Ledger) -> None:
    try:
        if kind == "create":
            sf.sobjects.create("Account", {"Name": key, "AccountNumber": key})
        elif kind == "upsert":
            sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", key, {"Name": key, "Amount__c": 1})
        elif kind == "update":
            sf.sobjects.update("Account", record_id or "", {"Description": key})
        elif kind == "delete":
            sf.sobjects.delete("Account", record_id or "")
        elif kind == "get":
            assert sf.sobjects.get("Account", record_id or "", fields=["Name"])["Name"].startswith("Seed")
        elif kind == "query":
            sf.query.query("SELECT Id FROM Account LIMIT 5")
        elif kind == "collection":
            ledger.collection_written(key, sf.composite.collections.create(collection(key)))
            return
        ledger.record(kind, key, "done")
    except BaseException as error:  # every failure is examined, typed or not
        ledger.operation_failed(kind, key, error)


async def run_async(sf: AsyncSalesforce, kind: str, key: str, record_id: str | None, ledger: Ledger) -> None:
    try:
        if kind == "create":
            await sf.sobjects.create("Account", {"Name": key, "AccountNumber": key})
        elif kind == "upsert":
            await sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", key, {"Name": key, "Amount__c": 1})
        elif kind == "update":
            await sf.sobjects.update("Account", record_id or "", {"Description": key})
        elif kind == "delete":
            await sf.sobjects.delete("Account", record_id or "")
        elif kind == "get":
            got = await sf.sobjects.get("Account", record_id or "", fields=["Name"])
            assert got["Name"].startswith("Seed")
        elif kind == "query":
            await sf.query.query("SELECT Id FROM Account LIMIT 5")
        elif kind == "collection":
            ledger.collection_written(key, await sf.composite.collections.create(collection(key)))
            return
        ledger.record(kind, key, "done")
    except BaseException as error:
        ledger.operation_failed(kind, key, error)


def inject_chaos(org: Emulator) -> None:
    """About one request in ten gets a fault, drawn from the org's seed (fault paths are
    matched below /services/data, from the version on)."""
    org.inject_fault("/v", status=503, error_code="SERVER_UNAVAILABLE", rate=0.03)
    org.inject_fault("/sobjects", status=400, error_code="UNABLE_TO_LOCK_ROW", message="locked", rate=0.015)
    org.inject_fault("/v", status=403, error_code="REQUEST_LIMIT_EXCEEDED", retry_after=0, rate=0.01)
    org.inject_fault("/v", drop_connection=True, rate=0.015)
    org.inject_fault("/v", drop_connection=True, after_commit=True, rate=0.015)
    org.inject_fault("/v", status=200, delay=0.002, rate=0.015)


def bulk_load(sf: Salesforce, ledger: Ledger) -> None:
    rows = [{"Name": f"B{i:04d}", "AccountNumber": f"B{i:04d}"} for i in range(2_000)]
    try:
        result = sf.bulk.insert(
            "Account", rows, max_records_per_job=500, poll_interval=0.02, max_poll_interval=0.1
        )
        done = {r["AccountNumber"] for r in result.successful_records()}
        for row in rows:
            ledger.record("bulk", row["AccountNumber"], "done" if row["AccountNumber"] in done else "not")
    except BulkIncompleteError as error:
        unsent = {i for first, last in error.unsent_rows for i in range(first - 1, last)}
        for i, row in enumerate(rows):
            ledger.record("bulk", row["AccountNumber"], "not" if i in unsent else "maybe")
    except BaseException as error:
        # A job that was uploaded may still run after its polling failed: count rows as
        # unknown, and check only that none is there twice.
        for row in rows:
            ledger.failed("bulk", row["AccountNumber"], error)
            if isinstance(error, SalesforceError):
                ledger.record("bulk", row["AccountNumber"], "maybe")


def test_chaos_loses_and_duplicates_nothing() -> None:
    with Emulator(seed=SEED) as org:
        org.define_object("Invoice__c", INVOICE_FIELDS)
        operations = plan([])  # kinds first, to know how many records to seed
        needed = sum(1 for kind, _, _ in operations if kind in ("update", "delete", "get"))
        seed_ids = org.seed_records(
            "Account", [{"Name": f"Seed {i}", "Description": "orig"} for i in range(needed)]
        )
        operations = plan(seed_ids)
        inject_chaos(org)

        def configure(builder: Any) -> Any:
            return builder.retries(4, backoff_base=0.005, backoff_max=0.02).circuit_breaker(
                50, open_seconds=0.2
            )

        ledger = Ledger()
        sync_ops = [op for i, op in enumerate(operations) if i % 2 == 0]
        async_ops = [op for i, op in enumerate(operations) if i % 2 == 1]

        def worker(index: int) -> None:
            sf = configure(org.client_builder()).build()
            for kind, key, record_id in sync_ops[index::THREADS]:
                run_sync(sf, kind, key, record_id, ledger)

        async def tasks() -> None:
            asf = configure(org.async_client_builder()).build()

            async def task(index: int) -> None:
                for kind, key, record_id in async_ops[index::TASKS]:
                    await run_async(asf, kind, key, record_id, ledger)

            await asyncio.gather(*(task(i) for i in range(TASKS)))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        threads.append(threading.Thread(target=asyncio.run, args=(tasks(),)))
        threads.append(
            threading.Thread(target=bulk_load, args=(configure(org.client_builder()).build(), ledger))
        )
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        org.clear_faults()

        assert ledger.untyped == []
        sf = org.client()
        accounts = list(sf.query.stream("SELECT Id, AccountNumber, Description FROM Account"))
        by_key = Counter(r["AccountNumber"] for r in accounts if r["AccountNumber"])
        invoices = Counter(
            r["Invoice_Number__c"] for r in sf.query.stream("SELECT Invoice_Number__c FROM Invoice__c")
        )
        descriptions = {r["Id"]: r["Description"] for r in accounts}
        counts: Counter[str] = Counter()
        for (kind, key), outcome in ledger.outcomes.items():
            counts[f"{kind} {outcome}"] += 1
            if kind in ("create", "bulk"):
                found = by_key[key]
            elif kind == "upsert":
                found = invoices[key]
            else:
                continue
            assert found <= 1, f"{kind} {key} is there {found} times"
            if outcome == "done":
                assert found == 1, f"{kind} {key} was reported done and is missing"
            elif outcome == "not":
                assert found == 0, f"{kind} {key} was reported not done and is there"
        for kind, key, record_id in operations:
            outcome = ledger.outcomes.get((kind, key))
            if kind == "update" and outcome == "done":
                assert descriptions.get(record_id or "") == key
            elif kind == "update" and outcome == "not":
                assert descriptions.get(record_id or "") == "orig"
            elif kind == "delete" and outcome == "done":
                assert record_id not in descriptions
            elif kind == "delete" and outcome == "not":
                assert record_id in descriptions
        faults = sum(ledger.errors.values())
        print(f"\nchaos: {len(operations)} operations + a 2,000-row bulk load; outcomes {dict(counts)}")
        print(f"chaos: {faults} typed failures {dict(ledger.errors)}; 0 lost, 0 duplicated")
        assert faults > 0  # the faults did bite
        assert counts["create done"] > 0 and counts["upsert done"] > 0
