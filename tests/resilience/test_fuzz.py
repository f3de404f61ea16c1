"""Bounded, seeded fuzzing of what takes untrusted input on the Python side: values sent to
Salesforce (JSON conversion, SOQL formatting), event payloads decoded into Python objects,
and SOQL sent to the emulator's query engine. Each case ends in a value or a typed exception;
a crash would end the test run. The Rust parsers have their own runs (cargo test)."""

from __future__ import annotations

import contextlib
import io
import json
import random
from typing import Any

from forcelink import SalesforceError, _core, format_soql
from forcelink.simulation import FakeTransport
from forcelink.testing import Emulator

SEED = 0x5EED
CASES = 2_000


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    """Values of every type a caller might pass, valid or not, nested now and then."""
    pick = rng.randrange(12 if depth < 6 else 8)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 2**63 - 1, 2**64, -(2**70), 10**30])
    if pick == 3:
        return rng.choice([0.5, -0.0, float("nan"), float("inf"), 1e308])
    if pick == 4:
        return "".join(
            rng.choice(["a", "'", "\\", "\n", "é", "\ud800", "\U0001f600", "{", "}"])
            for _ in range(rng.randrange(8))
        )
    if pick == 5:
        return rng.choice([b"bytes", object(), 1j, ...])
    if pick == 6:
        import datetime
        import decimal

        return rng.choice(
            [
                datetime.date(2020, 1, 2),
                datetime.datetime(2020, 1, 2, 3, 4, 5),
                decimal.Decimal("1.5"),
                decimal.Decimal("NaN"),
            ]
        )
    if pick == 7:
        return {rng.choice(["a", 1, None]): 1}
    if pick in (8, 9):
        return {f"F{i}": hostile_value(rng, depth + 1) for i in range(rng.randrange(4))}
    return [hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_values_sent_to_salesforce_are_converted_or_refused() -> None:
    rng = random.Random(SEED)
    fake = FakeTransport()
    for _ in range(CASES):
        value = hostile_value(rng)
        with contextlib.suppress(TypeError, ValueError):
            fake.respond("/query", value)
        with contextlib.suppress(TypeError, ValueError, SalesforceError):
            format_soql("SELECT Id FROM Account WHERE Name IN {} AND Amount = {}", value, hostile_value(rng))


ORDER_SCHEMA = {
    "type": "record",
    "name": "Order__e",
    "fields": [
        {"name": "CreatedDate", "type": "long"},
        {"name": "CreatedById", "type": "string"},
        {"name": "Number__c", "type": ["null", "string"], "default": None},
        {"name": "Amount__c", "type": ["null", "double"], "default": None},
        {"name": "Rush__c", "type": ["null", "boolean"], "default": None},
        {"name": "Items__c", "type": ["null", {"type": "array", "items": "string"}], "default": None},
        {"name": "Tags__c", "type": ["null", {"type": "map", "values": "long"}], "default": None},
        {
            "name": "Kind__c",
            "type": ["null", {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}],
            "default": None,
        },
        {"name": "Raw__c", "type": ["null", {"type": "fixed", "name": "Raw", "size": 4}], "default": None},
    ],
}


def test_event_payloads_are_decoded_or_refused() -> None:
    import fastavro

    schema_json = json.dumps(ORDER_SCHEMA)
    parsed = fastavro.parse_schema(ORDER_SCHEMA)
    buf = io.BytesIO()
    record = {
        "CreatedDate": 1,
        "CreatedById": "005",
        "Number__c": "O-1",
        "Amount__c": 2.5,
        "Rush__c": True,
        "Items__c": ["a", "b"],
        "Tags__c": {"x": 1},
        "Kind__c": "B",
        "Raw__c": b"abcd",
    }
    fastavro.schemaless_writer(buf, parsed, record)
    valid = buf.getvalue()
    assert _core._decode_event_payload("fuzz", schema_json, valid) == record
    rng = random.Random(SEED)
    decoded = refused = 0
    for case in range(CASES):
        if case % 4 == 0:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(48)))
        else:
            data = bytearray(valid)
            for _ in range(rng.randrange(1, 5)):
                at = rng.randrange(len(data) + 1)
                op = rng.randrange(3)
                if op == 0 and data:
                    del data[min(at, len(data) - 1)]
                elif op == 1:
                    data.insert(at, rng.choice([0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF]))
                else:
                    data.insert(at, rng.randrange(256))
            payload = bytes(data)
        try:
            _core._decode_event_payload("fuzz", schema_json, payload)
            decoded += 1
        except ValueError:
            refused += 1
    assert decoded + refused == CASES and refused > 0


def test_soql_to_the_query_engine_is_answered_or_refused(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client_builder().retries(1).circuit_breaker(0).build()
    sf_emulator.seed_records("Account", [{"Name": f"A{i}", "NumberOfEmployees": i} for i in range(5)])
    words = [
        "SELECT",
        "Id",
        "Name",
        "Owner.Name",
        "FROM",
        "Account",
        "Contact",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "(",
        ")",
        "=",
        "<",
        "LIKE",
        "IN",
        "NULL",
        "'A%'",
        "'",
        "5",
        "TODAY",
        "LAST_N_DAYS:3",
        ",",
        "ORDER",
        "BY",
        "LIMIT",
        "OFFSET",
        "COUNT()",
        "NumberOfEmployees",
        "GROUP",
        "HAVING",
    ]
    rng = random.Random(SEED)
    answered = 0
    statuses: list[int | None] = []
    for _ in range(500):
        soql = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 14)))
        if rng.random() < 0.5:
            soql = "SELECT Id, Name FROM Account WHERE " + soql
        try:
            sf.query.query(soql)
            answered += 1
        except SalesforceError as e:
            statuses.append(e.status)
    assert answered + len(statuses) == 500 and statuses
    assert set(statuses) == {400}  # refused as a malformed or invalid query, never a 500
    assert sf.query.query("SELECT COUNT() FROM Account").total_size == 5  # the org is fine
