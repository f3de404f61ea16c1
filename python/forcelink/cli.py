"""``forcelink``: the command line.

``forcelink demo`` runs a CRUD round trip on an embedded local org; ``forcelink emulator`` serves a local
org until stopped; ``forcelink limits`` prints an org's limits, ``forcelink query`` and ``forcelink bulk`` read
and load records, ``forcelink subscribe`` prints a topic's events (configured from ``SF_*`` variables).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from ._core import ChangeEvent, SimulationRecorder, SimulationReplayer
from .bulk import DEFAULT_PARALLELISM, DEFAULT_TIMEOUT, BulkEvent
from .client import Salesforce
from .errors import (
    AuthError,
    BulkIncompleteError,
    BulkInterruptedError,
    ConfigError,
    InvalidArgumentError,
    NotFoundError,
    SalesforceError,
    TransportError,
)
from .events import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE

if TYPE_CHECKING:
    from .bulk import LoadOptions

__all__ = ["main"]

# One exit code per failure kind, for scripts and schedulers (also in --help).
EXIT_OK = 0
EXIT_ROWS_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NETWORK = 4
EXIT_API = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = """exit codes (forcelink health: 0 ok, 1 degraded, 2 down):
  0    success
  1    a bulk job left rows failed or unprocessed
  2    the command line is wrong
  3    configuration or credentials (set SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_CLIENT_ID
       with SF_USERNAME and SF_PRIVATE_KEY(_FILE), SF_REFRESH_TOKEN or SF_CLIENT_SECRET)
  4    network: the org could not be reached, or the answer was lost
  5    the API refused the request (the error code is printed)
  130  interrupted (Ctrl-C); an interrupted bulk load prints the command that finishes it
  141  the reader of the output went away (a broken pipe, as in `forcelink query ... | head`)
"""

SF_HINT = (
    "set SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_CLIENT_ID with SF_USERNAME and "
    "SF_PRIVATE_KEY (or SF_PRIVATE_KEY_FILE) for the JWT bearer flow, SF_REFRESH_TOKEN, or "
    "SF_CLIENT_SECRET"
)

# The settings a failed configuration names, and the hint that fits each; the credentials hint
# only where credentials are at fault.
CREDENTIAL_SETTINGS = frozenset(
    {
        "credentials",
        "access_token",
        "client_id",
        "client_secret",
        "username",
        "private_key",
        "private_key_file",
        "refresh_token",
        "instance_url",
    }
)
SETTING_HINTS = {
    "api_version": "SF_API_VERSION is a version like 62.0 (or v62.0)",
    "login_url": "SF_LOGIN_URL is https://login.salesforce.com, https://test.salesforce.com or a My Domain URL",
    "ca_cert_file": "SF_CA_CERT_FILE must name a readable PEM file of the CA to trust",
    "ca_cert": "SF_CA_CERT_FILE must hold at least one PEM certificate",
    "pubsub_endpoint": "SF_PUBSUB_ENDPOINT is host:port, like api.pubsub.salesforce.com:7443",
    "proxy": "HTTPS_PROXY (or SF_PROXY) is a URL like http://proxy.example.com:3128",
    "timeout": "SF_TIMEOUT is a positive number of seconds",
    "connect_timeout": "SF_CONNECT_TIMEOUT is a positive number of seconds",
}


def _config_hint(error: ConfigError) -> str | None:
    setting = getattr(error, "setting", "")
    if setting in CREDENTIAL_SETTINGS:
        return SF_HINT
    return SETTING_HINTS.get(setting)


# Delimiters by the names Bulk API 2.0 gives them, and as characters.
DELIMITERS = {
    "comma": ",",
    "tab": "\t",
    "pipe": "|",
    "semicolon": ";",
    "caret": "^",
    "backquote": "`",
}


def _delimiter(text: str) -> str:
    named = DELIMITERS.get(text.lower())
    if named is not None:
        return named
    if text == "\\t":
        return "\t"
    if text in DELIMITERS.values():
        return text
    raise argparse.ArgumentTypeError(f"must be one of , ; | ^ ` or tab (or their names), not {text!r}")


def exit_code_for(error: SalesforceError) -> int:
    """The exit code of a failure kind. Input refused before anything was sent (a bad argument,
    a missing or malformed file) is a usage error."""
    if isinstance(error, BulkInterruptedError):
        return EXIT_INTERRUPTED
    if isinstance(error, InvalidArgumentError):
        return EXIT_USAGE
    if isinstance(error, (ConfigError, AuthError)):
        return EXIT_CONFIG
    if isinstance(error, TransportError):
        return EXIT_NETWORK
    return EXIT_API


def _step(text: str) -> None:
    print(f"-> {text}", flush=True)


def _emulator_package() -> Any:
    """forcelink_emulator, which the demo and ``forcelink emulator`` need; a ConfigError (exit 3)
    naming the extra to install when this is a client-only install."""
    try:
        import forcelink_emulator
    except ImportError:
        raise ConfigError(
            "this command needs the local org, which is not installed: pip install 'forcelink[emulator]'",
            setting="emulator",
        ) from None
    return forcelink_emulator


def demo(tls: bool) -> int:
    """Start an embedded org and run create, read, update, upsert, delete against it."""
    with _emulator_package().Emulator(tls=tls) as org:
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


def _client(record: str | None, replay: str | None) -> tuple[Salesforce, SimulationRecorder | None]:
    """A client from SF_* variables, recording to or replaying from a cassette when asked. A
    replay needs no credentials: the cassette answers every request."""
    if replay and not os.environ.get("SF_ACCESS_TOKEN") and not os.environ.get("SF_CLIENT_ID"):
        builder = (
            Salesforce.builder()
            .instance_url(os.environ.get("SF_INSTANCE_URL", "https://replay.my.salesforce.com"))
            .access_token("00D000000000000!replay")
        )
    else:
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


def _without_attributes(value: Any) -> Any:
    """A record as its fields: the ``attributes`` of it and of its parents left out."""
    if isinstance(value, dict):
        return {k: _without_attributes(v) for k, v in value.items() if k != "attributes"}
    return value


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Parent fields as dotted columns (``Account.Name``), for CSV; a subquery's records (and
    any other list) as one JSON column."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and isinstance(value.get("records"), list):
            out[f"{prefix}{key}"] = json.dumps(value["records"], sort_keys=True, default=str)
        elif isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            out[f"{prefix}{key}"] = json.dumps(value, sort_keys=True, default=str)
        else:
            out[f"{prefix}{key}"] = value
    return out


# `SELECT COUNT() FROM ...` answers with a count and no records.
_COUNT_QUERY = re.compile(r"^\s*select\s+count\(\s*\)\s+from\b", re.IGNORECASE)


def query(
    soql: str, include_deleted: bool, record: str | None, replay: str | None, fmt: str = "jsonl"
) -> int:
    """Print every record of a query as JSON lines, or as CSV with a header row."""
    sf, recorder = _client(record, replay)
    if _COUNT_QUERY.match(soql):
        count = sf.query.count(soql, include_deleted=include_deleted)
        if fmt == "csv":
            print(f"count\n{count}")
        else:
            print(json.dumps({"count": count}))
        if recorder is not None and record:
            recorder.save(record)
        return 0
    writer: Any = None
    for row in sf.query.stream(soql, include_deleted=include_deleted):
        fields = _without_attributes(row)
        if fmt == "csv":
            flat = _flat(fields)
            if writer is None:
                writer = csv.DictWriter(sys.stdout, fieldnames=list(flat), extrasaction="ignore")
                writer.writeheader()
            writer.writerow(flat)
        else:
            print(json.dumps(fields, sort_keys=True))
    if recorder is not None and record:
        recorder.save(record)
    return 0


def _replay_arg(text: str) -> str | int:
    """``latest``, ``earliest``, or a replay id as printed by ``forcelink subscribe`` (an integer)."""
    if text in ("latest", "earliest"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be latest, earliest or a replay id number, not {text!r}"
        ) from None


def subscribe(
    topic: str, replay: str | int, max_events: int | None, batch_size: int, timeout: float | None = None
) -> int:
    """Print events as JSON lines: replay id (an integer, usable with --replay), ids, payload,
    and for change events the header with field names expanded. With ``timeout``, stops after
    that many seconds without an event."""
    sf, _ = _client(None, None)
    seen = 0
    with sf.events.subscribe(topic, replay=replay, batch_size=batch_size, timeout=timeout) as sub:
        for event in sub:
            line: dict[str, object] = {
                "replay_id": event.replay_id_int,
                "event_id": event.event_id,
                "schema_id": event.schema_id,
                "payload": event.payload,
            }
            if isinstance(event, ChangeEvent):
                h = event.header
                line["header"] = {
                    "entity_name": h.entity_name,
                    "change_type": h.change_type,
                    "record_ids": h.record_ids,
                    "changed_fields": h.changed_fields,
                    "nulled_fields": h.nulled_fields,
                    "diff_fields": h.diff_fields,
                    "transaction_key": h.transaction_key,
                    "sequence_number": h.sequence_number,
                    "commit_timestamp": h.commit_timestamp,
                    "commit_user": h.commit_user,
                    "change_origin": h.change_origin,
                }
            print(json.dumps(line, sort_keys=True, default=str), flush=True)
            seen += 1
            if max_events is not None and seen >= max_events:
                break
    return 0


class _ProgressPrinter:
    """Turns bulk progress events into a progress bar (with rich) or lines on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._done: dict[str, int] = {}
        try:
            from rich.progress import Progress
        except ImportError:
            return
        self._bar = Progress(transient=True)

    def __enter__(self) -> _ProgressPrinter:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, event: BulkEvent) -> None:
        if event.kind == "split":
            text = f"{event.records} records, {event.bytes} bytes, {event.jobs} job(s)"
            if self._bar is not None:
                self._task = self._bar.add_task("processing", total=event.records)
                self._bar.console.print(text)
            else:
                print(f"split: {text}", file=sys.stderr, flush=True)
            return
        if event.kind == "job_state" and event.job_id is not None:
            self._done[event.job_id] = event.processed or 0
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, completed=sum(self._done.values()))
                return
        if self._bar is None:
            print(_progress_line(event), file=sys.stderr, flush=True)


def _progress_line(event: BulkEvent) -> str:
    """A progress event as a line of text."""
    if event.kind == "job_created":
        return f"job {event.job_id}: created for {event.records or 0:,} rows"
    if event.kind == "uploaded":
        return f"job {event.job_id}: uploaded {event.bytes or 0:,} bytes"
    if event.kind == "job_state":
        return (
            f"job {event.job_id}: {event.state}, {event.processed or 0:,} processed, "
            f"{event.failed or 0:,} failed"
        )
    return event.kind


def bulk(args: argparse.Namespace) -> int:
    """Load a CSV file, or write a bulk query to a file; prints a JSON summary."""
    sf, _ = _client(None, None)
    if args.operation == "query":
        out = sys.stdout.buffer if args.out == "-" else args.out
        print(f"bulk query: {args.soql}", file=sys.stderr, flush=True)

        def page_written(pages: int, records: int) -> None:
            print(f"page {pages}: {records:,} records written", file=sys.stderr, flush=True)

        count = sf.bulk.query_to_file(
            args.soql,
            out,
            include_deleted=args.all,
            max_records=args.max_records,
            timeout=args.timeout,
            progress=page_written,
        )
        print(
            json.dumps({"records": count, "out": args.out}),
            file=sys.stderr if args.out == "-" else sys.stdout,
        )
        return EXIT_OK
    if args.operation == "resume":
        return _resume(sf, args)
    return _load(sf, args, args.operation, args.object, args.file)


def _load(sf: Salesforce, args: argparse.Namespace, operation: str, object: str, file: str) -> int:
    """Loads a CSV file (or the rows of it ``--rows`` names) and reports; an interrupted or
    broken-off load first prints the command that finishes it."""
    if operation not in LOAD_OPERATIONS:
        raise InvalidArgumentError(
            f"{operation!r} is not a load: use one of {', '.join(LOAD_OPERATIONS)}", argument="operation"
        )
    if operation == "upsert" and not args.external_id_field:
        print("error: upsert needs --external-id-field", file=sys.stderr)
        return EXIT_USAGE
    options: LoadOptions = {
        "column_delimiter": args.delimiter,
        "parallelism": args.parallelism,
        "timeout": args.timeout,
    }
    if args.rows:
        options["rows"] = args.rows
    if args.max_records_per_job is not None:
        options["max_records_per_job"] = args.max_records_per_job
    data: Any = sys.stdin.buffer if file == "-" else file
    try:
        with _ProgressPrinter() as progress:
            options["progress"] = progress
            if operation == "upsert":
                result = sf.bulk.upsert(object, data, external_id_field=args.external_id_field, **options)
            else:
                load = {
                    "insert": sf.bulk.insert,
                    "update": sf.bulk.update,
                    "delete": sf.bulk.delete,
                    "hard-delete": sf.bulk.hard_delete,
                }[operation]
                result = load(object, data, **options)
    except BulkIncompleteError as e:
        _print_finish(e, args, operation, object, file)
        raise
    return _report(result, args.failed_out)


LOAD_OPERATIONS = ("insert", "update", "upsert", "delete", "hard-delete")


def _ranges_text(rows: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{first}-{last}" for first, last in rows)


def _rows_arg(text: str) -> list[tuple[int, int]]:
    """``1-500,9001-12000`` (or single rows, ``7``): data rows counted from 1 after the header.
    The engine checks the ranges themselves before anything is sent."""
    ranges = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            ranges.append((int(first), int(last or first)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"rows are ranges like 1-500,9001-12000, not {text!r}") from None
    return ranges


def _print_finish(
    error: BulkIncompleteError, args: argparse.Namespace, operation: str, object: str, file: str
) -> None:
    """What an unfinished load did, and the one command that finishes it: wait for the jobs
    that hold data, and load the rows never sent."""
    out = sys.stderr
    for job in error.jobs:
        print(f"job {job['id']}: {job.get('state') or 'state unknown'} (goes on at Salesforce)", file=out)
    unsent = sum(last - first + 1 for first, last in error.unsent_rows)
    if error.unsent_rows:
        print(f"rows never sent: {_ranges_text(error.unsent_rows)} ({unsent:,} rows)", file=out)
    command = ["forcelink", "bulk", "resume", *error.job_ids]
    if error.unsent_rows:
        command += ["--load", operation, object, file, "--rows", _ranges_text(error.unsent_rows)]
        if args.max_records_per_job is not None:
            command += ["--max-records-per-job", str(args.max_records_per_job)]
        if operation == "upsert":
            command += ["--external-id-field", args.external_id_field]
        if args.delimiter != ",":
            command += ["--delimiter", next(n for n, c in DELIMITERS.items() if c == args.delimiter)]
    if error.job_ids or error.unsent_rows:
        print("to finish the load (each row loaded once), run:", file=out)
        print("  " + shlex.join(command), file=out)
        if error.unsent_rows and file == "-":
            print("  with the same input on standard input", file=out)
    out.flush()


def _resume(sf: Salesforce, args: argparse.Namespace) -> int:
    """Waits for the jobs given and reports them; then, with ``--load``, loads the rows an
    interrupted load never sent and reports that load (a JSON summary each)."""
    if not args.job_ids and not args.load:
        raise InvalidArgumentError("give the job ids to resume, or --load with --rows", argument="job_ids")
    if args.load and not args.rows:
        raise InvalidArgumentError("--load needs --rows: the rows never sent", argument="rows")
    code = EXIT_OK
    if args.job_ids:
        code = _report(sf.bulk.resume(args.job_ids, timeout=args.timeout), args.failed_out)
    if args.load:
        operation, object, file = args.load
        code = max(code, _load(sf, args, operation, object, file))
    return code


#: Failed rows whose errors are printed when no --failed-out file is asked for.
SHOWN_FAILURES = 5


def _report(result: Any, failed_out: str | None) -> int:
    """Prints a load's summary (and each failed job's message, and the first failed rows'
    errors); its exit code."""
    for job in result.jobs:
        if job.get("state") in ("Failed", "Aborted"):
            print(
                f"error: job {job.get('id')} ended {job.get('state')}: {job.get('errorMessage') or 'no message'}",
                file=sys.stderr,
            )
    if result.records_failed and not failed_out:
        for shown, row in enumerate(result.failed_records()):
            if shown == SHOWN_FAILURES:
                break
            print(f"failed row: {_row_error(row.get('sf__Error', ''))}", file=sys.stderr)
        print(
            f"hint: {result.records_failed:,} row(s) failed; --failed-out FILE writes every failed row "
            "with its error",
            file=sys.stderr,
        )
    if failed_out and result.records_failed:
        with open(failed_out, "w", newline="", encoding="utf-8") as f:
            writer: Any = None
            for row in result.failed_records():
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
    summary = {
        "job_ids": result.job_ids,
        "records_processed": result.records_processed,
        "records_failed": result.records_failed,
        "records_unprocessed": result.records_unprocessed,
    }
    print(json.dumps(summary))
    return EXIT_OK if result.records_failed == 0 and result.records_unprocessed == 0 else EXIT_ROWS_FAILED


def _row_error(text: str) -> str:
    """``CODE:message:fields --`` (Bulk API's sf__Error) as ``CODE: message (fields: ...)``."""
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:
        message, fields = rest, ""
    fields = fields.strip().removesuffix("--").strip()
    return f"{code}: {message.strip()}" + (f" (fields: {fields})" if fields else "")


def _load_arguments(p: Any) -> None:
    """The options of every load, for the load commands and ``resume --load``."""
    p.add_argument("--external-id-field", help="the external id field (upsert)")
    p.add_argument(
        "--delimiter", type=_delimiter, default=",", help="column delimiter: , ; | ^ ` or tab (default ,)"
    )
    p.add_argument("--failed-out", metavar="FILE", help="write the failed rows here as CSV")
    p.add_argument(
        "--parallelism",
        type=int,
        default=DEFAULT_PARALLELISM,
        help=f"jobs processed at once (default {DEFAULT_PARALLELISM})",
    )
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for the jobs")
    p.add_argument(
        "--max-records-per-job",
        type=int,
        default=None,
        metavar="N",
        help="at most N rows per job (default: as many as Salesforce's 150 MB upload holds)",
    )
    p.add_argument(
        "--rows",
        type=_rows_arg,
        metavar="RANGES",
        help="load only these data rows (1-500,9001-12000; counted from 1 after the header)",
    )


def _bulk_parser(commands: Any) -> None:
    p_bulk = commands.add_parser("bulk", help="Bulk API 2.0 loads and queries (SF_* variables)")
    ops = p_bulk.add_subparsers(dest="operation", required=True)
    for name in ("insert", "update", "upsert", "delete", "hard-delete"):
        p = ops.add_parser(name, help=f"{name} the rows of a CSV file")
        p.add_argument("object")
        p.add_argument("file", help="the CSV file, or - for standard input")
        _load_arguments(p)
    p_resume = ops.add_parser(
        "resume",
        help="wait for jobs created earlier and report their result; with --load, also load the "
        "rows an interrupted load never sent",
    )
    p_resume.add_argument("job_ids", nargs="*", metavar="JOB_ID")
    p_resume.add_argument(
        "--load",
        nargs=3,
        metavar=("OPERATION", "OBJECT", "FILE"),
        help="then load the --rows of FILE (insert, update, upsert, delete or hard-delete)",
    )
    _load_arguments(p_resume)
    p_query = ops.add_parser("query", help="write a bulk query's rows as CSV to a file or - (stdout)")
    p_query.add_argument("soql")
    p_query.add_argument("--out", required=True, metavar="FILE", help="a file, or - for standard output")
    p_query.add_argument("--all", action="store_true", help="include deleted records")
    p_query.add_argument("--max-records", type=int, default=None, help="rows per results page")
    p_query.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for the job")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="forcelink",
        description="Salesforce API client and local org emulator",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"forcelink {__version__}")
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on this port while the command runs (needs prometheus_client)",
    )
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
    p_emu_output = p_emu.add_mutually_exclusive_group()
    p_emu_output.add_argument("--json", action="store_true", help="print the settings as one JSON object")
    p_emu_output.add_argument(
        "--shell", action="store_true", help="print the settings as quoted export lines, for eval"
    )
    org_commands = []
    org_commands.append(
        commands.add_parser("limits", help="print the org's limits (configured from SF_* variables)")
    )
    p_health = commands.add_parser(
        "health",
        help="check token, API and daily usage; print JSON; exit 0 ok, 1 degraded, 2 down (a probe)",
    )
    p_health.add_argument("--warn-percent", type=float, default=80.0, help="daily API usage that is degraded")
    p_health.add_argument("--critical-percent", type=float, default=90.0, help="daily API usage that is down")
    p_query = commands.add_parser("query", help="print every record of a SOQL query as JSON lines")
    p_query.add_argument("soql")
    p_query.add_argument("--all", action="store_true", help="include deleted and archived records")
    p_query.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        default="jsonl",
        help="JSON lines (default) or CSV with a header",
    )
    org_commands.append(p_query)
    _bulk_parser(commands)
    p_sub = commands.add_parser("subscribe", help="print a topic's events as JSON lines (SF_* variables)")
    p_sub.add_argument("topic", help="/event/Name__e, /data/AccountChangeEvent or /data/ChangeEvents")
    p_sub.add_argument(
        "--replay",
        type=_replay_arg,
        default="latest",
        help="latest, earliest, or a replay id to resume after",
    )
    p_sub.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="stop after this long without an event"
    )
    p_sub.add_argument("--max-events", type=int, default=None, metavar="N", help="stop after N events")
    p_sub.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"events asked for at a time (1-{MAX_BATCH_SIZE})",
    )
    for command in org_commands:
        command.add_argument("--record", metavar="FILE", help="record the HTTP session to a cassette")
        command.add_argument("--replay", metavar="FILE", help="answer from a cassette, with no network")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt as e:
        # A bulk load's interrupt says what it did (printed by the load) and is one here too.
        print(f"interrupted: {e}" if isinstance(e, BulkInterruptedError) else "interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from complaining
        # about the unflushed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SalesforceError as e:
        message = str(e)
        if isinstance(e, ConfigError):
            # The command is configured from the environment: name variables, not methods.
            message = re.sub(r" or call \w+\(\)", "", message)
        print(f"error: {type(e).__name__}: {message}", file=sys.stderr)
        hint = _config_hint(e) if isinstance(e, ConfigError) else None
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return exit_code_for(e)


def health(warn_percent: float, critical_percent: float) -> int:
    """Prints the health report as JSON; the exit code is 0 ok, 1 degraded, 2 down. A client that
    cannot even be configured is down too."""
    try:
        sf, _ = _client(None, None)
        report = sf.health(warn_percent=warn_percent, critical_percent=critical_percent)
    except ConfigError as e:
        check = {"name": "config", "status": "down", "duration_seconds": 0.0, "detail": str(e)}
        print(json.dumps({"status": "down", "checks": [check]}, indent=2))
        return 2
    print(json.dumps(report.to_dict(), indent=2))
    return report.exit_code


def _run(args: argparse.Namespace) -> int:
    if args.metrics_port is not None:
        from .metrics import serve as serve_metrics

        try:
            serve_metrics(args.metrics_port)
        except ImportError as e:
            raise ConfigError(str(e), setting="metrics") from None
    if args.command == "health":
        return health(args.warn_percent, args.critical_percent)
    if args.command == "demo":
        return demo(args.tls)
    if args.command == "emulator":
        serve: int = _emulator_package().cli.serve(
            args.tls, args.port, args.api_limit, args.seed_accounts, as_json=args.json, as_shell=args.shell
        )
        return serve
    if args.command == "bulk":
        return bulk(args)
    if args.command == "subscribe":
        return subscribe(args.topic, args.replay, args.max_events, args.batch_size, args.timeout)
    if args.command == "query":
        return query(args.soql, args.all, args.record, args.replay, args.format)
    return limits(args.record, args.replay)


if __name__ == "__main__":
    sys.exit(main())
