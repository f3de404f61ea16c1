"""``sfapi``: the command line.

``sfapi demo`` runs a CRUD round trip on an embedded local org; ``sfapi emulator`` serves a local
org until stopped; ``sfapi limits`` prints an org's limits (configured from ``SF_*`` variables).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from . import __version__
from ._core import SimulationRecorder, SimulationReplayer
from .client import Salesforce
from .errors import NotFoundError, SalesforceError
from .testing import Emulator

__all__ = ["main"]


def sample_account(i: int) -> dict[str, object]:
    """An Account with 10 fields set, for demos and benchmarks."""
    return {
        "Name": f"Account {i}",
        "AccountNumber": f"AN-{i:08}",
        "Type": "Customer - Direct",
        "Industry": "Energy",
        "AnnualRevenue": i * 10.5,
        "NumberOfEmployees": i % 5000,
        "Phone": "+1 415 555 0100",
        "Website": "https://example.com",
        "BillingCity": "San Francisco",
    }


def _step(text: str) -> None:
    print(f"-> {text}", flush=True)


def demo(tls: bool) -> int:
    """Start an embedded org and run create, read, update, upsert, delete against it."""
    with Emulator(tls=tls) as org:
        print(f"local org {org.org_id} at {org.instance_url}", flush=True)
        org.define_object(
            "Invoice__c",
            {
                "Invoice_Number__c": {"type": "string", "external_id": True, "unique": True},
                "Amount__c": "currency",
            },
        )
        sf = org.client()
        saved = sf.sobjects.create("Account", {"Name": "Acme Corporation", "Industry": "Technology"})
        _step(f"created Account {saved.id}")
        record = sf.sobjects.get("Account", saved.id, fields=["Name", "Industry"])
        _step(f"read back: Name={record['Name']!r} Industry={record['Industry']!r}")
        sf.sobjects.update("Account", saved.id, {"Industry": "Energy", "NumberOfEmployees": 250})
        record = sf.sobjects.get("Account", saved.id, fields=["Industry", "NumberOfEmployees"])
        _step(f"updated: Industry={record['Industry']!r} NumberOfEmployees={record['NumberOfEmployees']}")
        first = sf.sobjects.upsert(
            "Invoice__c", "Invoice_Number__c", "INV-0001", {"Name": "First", "Amount__c": 120.5}
        )
        _step(f"upsert INV-0001: created={first.created} id={first.id}")
        again = sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "INV-0001", {"Amount__c": 99.0})
        _step(f"upsert INV-0001 again: created={again.created} (same id: {again.id == first.id})")
        sf.sobjects.delete("Account", saved.id)
        _step(f"deleted Account {saved.id}")
        try:
            sf.sobjects.get("Account", saved.id)
        except NotFoundError as e:
            _step(f"reading it now raises {type(e).__name__}: {e.error_code}")
        usage = sf.limits.usage
        if usage is not None:
            _step(f"API usage: {usage.used}/{usage.max} ({usage.percent:.3f}%)")
    print("demo finished: every step succeeded", flush=True)
    return 0


def emulator(tls: bool, port: int, api_limit: int, seed_accounts: int) -> int:
    """Serve a local org until Ctrl-C or SIGTERM, with ``seed_accounts`` sample Accounts."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Emulator(tls=tls, port=port, api_limit=api_limit) as org:
        if seed_accounts:
            org.seed_records("Account", (sample_account(i) for i in range(seed_accounts)))
        print(f"SF_INSTANCE_URL={org.instance_url}")
        print(f"SF_LOGIN_URL={org.login_url}")
        print(f"SF_ACCESS_TOKEN={org.access_token()}")
        print(f"org id: {org.org_id}  user: {org.username}")
        if org.ca_cert_path:
            print(f"SF_CA_CERT_FILE={org.ca_cert_path}")
        print("serving; press Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def _client(record: str | None, replay: str | None) -> tuple[Salesforce, SimulationRecorder | None]:
    """A client from SF_* variables, recording to or replaying from a cassette when asked."""
    builder = Salesforce.builder(from_env=True)
    recorder = None
    if record:
        recorder = SimulationRecorder()
        builder.with_recorder(recorder)
    if replay:
        builder.with_replayer(SimulationReplayer.load(replay))
    return builder.build(), recorder


def limits(record: str | None, replay: str | None) -> int:
    sf, recorder = _client(record, replay)
    print(json.dumps(sf.limits.get(), indent=2, sort_keys=True))
    if recorder is not None and record:
        recorder.save(record)
    return 0


def query(soql: str, include_deleted: bool, record: str | None, replay: str | None) -> int:
    """Print every record of a query as JSON lines."""
    sf, recorder = _client(record, replay)
    for row in sf.query.stream(soql, include_deleted=include_deleted):
        print(json.dumps(row, sort_keys=True))
    if recorder is not None and record:
        recorder.save(record)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sfapi", description="Salesforce API client and local org emulator")
    parser.add_argument("--version", action="version", version=f"sfapi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p_demo = commands.add_parser("demo", help="run a CRUD round trip on an embedded local org")
    p_demo.add_argument("--tls", action="store_true", help="serve the embedded org over HTTPS")
    p_emu = commands.add_parser("emulator", help="serve a local org until stopped")
    p_emu.add_argument("--tls", action="store_true", help="serve over HTTPS with a generated CA")
    p_emu.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p_emu.add_argument("--api-limit", type=int, default=100_000, help="daily API request limit")
    p_emu.add_argument(
        "--seed-accounts", type=int, default=0, metavar="N", help="start with N sample Accounts"
    )
    org_commands = []
    org_commands.append(
        commands.add_parser("limits", help="print the org's limits (configured from SF_* variables)")
    )
    p_query = commands.add_parser("query", help="print every record of a SOQL query as JSON lines")
    p_query.add_argument("soql")
    p_query.add_argument("--all", action="store_true", help="include deleted and archived records")
    org_commands.append(p_query)
    for command in org_commands:
        command.add_argument("--record", metavar="FILE", help="record the HTTP session to a cassette")
        command.add_argument("--replay", metavar="FILE", help="answer from a cassette, with no network")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return demo(args.tls)
        if args.command == "emulator":
            return emulator(args.tls, args.port, args.api_limit, args.seed_accounts)
        if args.command == "query":
            return query(args.soql, args.all, args.record, args.replay)
        return limits(args.record, args.replay)
    except SalesforceError as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
