"""Stream N Accounts (10 fields) from the emulator: ours (sync and async) against
simple-salesforce's query_all_iter, in one run; records per second, CPU seconds per 100k
records, and ratios. Every run checks it got every record exactly once.

Then each client again in a new process of its own, its costs apart: import, building the
client, the stream's CPU (all threads) the first time (with the first call's fixed costs) and the
best of three more (the per-record cost), and peak RSS; beside them the floor of any Python client
that hands out dicts, `orjson.loads` of the same pages (downloaded first, untimed), parsed the
same number of times, each record handed to the same counting loop; and a one-off run's cost
(import, build, one stream). Ratios are given of the medians and paired within each round (the
three children of a round run back to back).

Run: python benches/compare_query_stream.py [--records 200000] [--rounds 3] [--in-process]
Use a release build (maturin develop --release). The emulator runs as `forcelink emulator` in its own
process, so "process CPU" is the client's alone; with --in-process it runs inside this process
(its threads then count in "process CPU").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from child_costs import SIMPLE_SALESFORCE_BUILD, SIMPLE_SALESFORCE_IMPORT, child_env, run_steps
from forcelink_emulator.records import sample_account
from simple_salesforce import Salesforce as SimpleSalesforce

from forcelink import AsyncSalesforce, Salesforce
from forcelink.testing import Emulator

SOQL = (
    "SELECT Id, Name, AccountNumber, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, "
    "Website, BillingCity FROM Account"
)


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(label: str, fn: Callable[[], set[str]], expected: int) -> tuple[float, float]:
    started, cpu0, main0 = time.perf_counter(), process_cpu(), time.thread_time()
    ids = fn()
    wall = time.perf_counter() - started
    cpu, main = process_cpu() - cpu0, time.thread_time() - main0
    if len(ids) != expected:
        raise SystemExit(f"{label}: got {len(ids)} distinct records, expected {expected}")
    per = 100_000 / expected
    print(
        f"  {label:<34} {wall:7.2f} s  {expected / wall:10.0f} rec/s  "
        f"main-thread CPU {main * per:5.2f} s/100k  process CPU {cpu * per:5.2f} s/100k"
    )
    return wall, cpu


def ratios(
    title: str, peer: tuple[float, float], sync: tuple[float, float], asyn: tuple[float, float]
) -> None:
    print(f"  {title}")
    print(
        f"    records/s ours / simple-salesforce: sync {peer[0] / sync[0]:.2f}x, async {peer[0] / asyn[0]:.2f}x"
    )
    print(
        f"    process CPU simple-salesforce / ours (the set of ids built counted in both): sync {peer[1] / sync[1]:.2f}x, async {peer[1] / asyn[1]:.2f}x"
    )


@contextlib.contextmanager
def org_in_process(n: int) -> Iterator[tuple[str, str, str]]:
    with Emulator(tls=True, api_limit=100_000_000) as org:
        org.seed_records("Account", (sample_account(i) for i in range(n)))
        yield org.instance_url, org.access_token, org.ca_cert_path or ""


@contextlib.contextmanager
def org_settings_in_subprocess(n: int) -> Iterator[dict[str, str]]:
    """Runs ``forcelink emulator --tls`` with n seeded Accounts in a child process and yields the
    SF_* settings it prints."""
    command = [sys.executable, "-m", "forcelink.cli", "emulator", "--tls", "--seed-accounts", str(n)]
    command += ["--api-limit", "100000000"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            settings: dict[str, str] = {}
            while "SF_CA_CERT_FILE" not in settings:
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit("the emulator process ended early")
                if line.startswith("SF_") and "=" in line:
                    key, value = line.strip().split("=", 1)
                    settings[key] = value
            yield settings
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@contextlib.contextmanager
def org_in_subprocess(n: int) -> Iterator[tuple[str, str, str]]:
    with org_settings_in_subprocess(n) as settings:
        yield settings["SF_INSTANCE_URL"], settings["SF_ACCESS_TOKEN"], settings["SF_CA_CERT_FILE"]


# Each client in its own process: import, build, then the same stream 1 + LATER times. The
# first stream also pays the first call's fixed costs (connection, TLS handshake, modules
# imported on first use: forcelink imports orjson, ~20 ms, only when a query page arrives); the
# later ones are the per-record cost, taken as the best of them: other tenants of this shared host
# only ever add CPU time (a busy sibling CPU slows a parse by ~15%), so the least of a few
# repeats is the closest reading of a client's own cost. Every child gets the same treatment.
# `result` is the number of records of the last stream.
LATER = 3
STREAM = f"result = sum(1 for _ in sf.query.stream({SOQL!r}))"
# The floor hands each record to the same consumer as the clients' children do (a generator
# expression counting them), so both sides carry that consumer's cost.
FLOOR_PARSE = "result = sum(1 for page in pages for _ in orjson.loads(page)['records'])"
PEER_STREAM = f"result = sum(1 for _ in sf.query_all_iter({SOQL!r}))"
FIRST_STREAM = 2  # the steps: import, build, first stream, later streams
MINIMAL_CLIENT = "http.client + orjson"
PROCESS_STEPS = {
    "forcelink": [
        "from forcelink import Salesforce",
        "sf = Salesforce.from_env()",
        *[STREAM] * (1 + LATER),
    ],
    # The same pages fetched untimed, then parsed likewise: the parse is the floor. Run right
    # after forcelink's child, so each round's pair sees the same load on this shared host.
    "orjson.loads floor": [
        "import orjson, requests\nfrom urllib.parse import quote",
        "session = requests.Session()\nsession.trust_env = False\n"
        "session.verify = os.environ['SF_CA_CERT_FILE']\n"
        "base = os.environ['SF_INSTANCE_URL']\n"
        "auth = {'Authorization': 'Bearer ' + os.environ['SF_ACCESS_TOKEN'], 'Accept-Encoding': 'identity'}\n"
        f"url = base + '/services/data/v62.0/query?q=' + quote({SOQL!r})\n"
        "pages = []\n"
        "while url:\n"
        "    pages.append(session.get(url, headers=auth).content)\n"
        "    more = orjson.loads(pages[-1]).get('nextRecordsUrl')\n"
        "    url = base + more if more else None",
        *[FLOOR_PARSE] * (1 + LATER),
    ],
    # The least a Python client can do that receives the pages itself: one kept-alive HTTPS
    # connection from the standard library (OpenSSL), each page read whole, parsed by orjson and
    # handed out by the same C loop as forcelink's; no read-ahead, retries or checks.
    MINIMAL_CLIENT: [
        "import http.client, itertools, ssl, orjson\nfrom urllib.parse import quote, urlsplit",
        "where = urlsplit(os.environ['SF_INSTANCE_URL'])\n"
        "tls = ssl.create_default_context(cafile=os.environ['SF_CA_CERT_FILE'])\n"
        "conn = http.client.HTTPSConnection(where.hostname, where.port, context=tls)\n"
        "auth = {'Authorization': 'Bearer ' + os.environ['SF_ACCESS_TOKEN'], 'Accept-Encoding': 'identity'}\n"
        "def pages():\n"
        f"    path = '/services/data/v62.0/query?q=' + quote({SOQL!r})\n"
        "    while path:\n"
        "        conn.request('GET', path, headers=auth)\n"
        "        page = orjson.loads(conn.getresponse().read())\n"
        "        yield page['records']\n"
        "        path = page.get('nextRecordsUrl')",
        *["result = sum(1 for _ in itertools.chain.from_iterable(pages()))"] * (1 + LATER),
    ],
    "simple-salesforce": [
        SIMPLE_SALESFORCE_IMPORT,
        SIMPLE_SALESFORCE_BUILD,
        *[PEER_STREAM] * (1 + LATER),
    ],
}


def first_stream(run: dict[str, Any]) -> float:
    return float(run["steps"][FIRST_STREAM][0])


def per_record(run: dict[str, Any]) -> float:
    """The best of the later streams' CPU."""
    return float(min(cpu for cpu, _ in run["steps"][FIRST_STREAM + 1 :]))


def one_off(run: dict[str, Any]) -> float:
    """What a one-off extraction pays: importing the client, building it and streaming once."""
    return float(sum(cpu for cpu, _ in run["steps"][: FIRST_STREAM + 1]))


def process_costs(url: str, token: str, ca: str, n: int, rounds: int) -> None:
    env = child_env({"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": token, "SF_CA_CERT_FILE": ca})
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in PROCESS_STEPS}
    for _ in range(rounds):
        for name, steps in PROCESS_STEPS.items():
            measured = run_steps(steps, env)
            if measured["result"] != n:
                raise SystemExit(f"{name}: {measured['result']} records, expected {n}")
            runs[name].append(measured)

    def median_ms(name: str, cost: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(cost(r) for r in runs[name]) * 1000

    def step_ms(name: str, step: int) -> float:
        return median_ms(name, lambda r: float(r["steps"][step][0]))

    later = f"later, best of {LATER}"
    print(f" each client in its own process ({rounds} runs, medians; CPU is all threads)")
    print(f"  {'':<20}{'import':>10}{'build':>10}{'1st stream':>12}{later:>20}{'peak RSS':>11}")
    for name in ("forcelink", "simple-salesforce", MINIMAL_CLIENT, "orjson.loads floor"):
        rss = statistics.median(r["rss_mb"] for r in runs[name])
        fixed = "" if name.endswith("floor") else f"{step_ms(name, 0):7.1f} ms{step_ms(name, 1):7.1f} ms"
        print(
            f"  {name:<20}{fixed:>20}{median_ms(name, first_stream):9.1f} ms"
            f"{median_ms(name, per_record):17.1f} ms" + ("" if name.endswith("floor") else f"{rss:8.1f} MB")
        )
    # Ratios of the medians, and paired within each round: this host's load drifts by tens of
    # percent within minutes, and a round's three children run back to back.
    comparisons = (
        ("first stream (fixed costs in)", first_stream),
        ("per record (later streams)", per_record),
        ("one-off process (import, build, one stream)", one_off),
    )
    for label, cost in comparisons:
        parts = []
        for peer, ours_over in (
            ("orjson.loads floor", True),
            (MINIMAL_CLIENT, True),
            ("simple-salesforce", False),
        ):
            if peer != "simple-salesforce" and cost is one_off:
                continue
            ours, theirs = median_ms("forcelink", cost), median_ms(peer, cost)
            paired = [
                cost(f) / cost(p) if ours_over else cost(p) / cost(f)
                for f, p in zip(runs["forcelink"], runs[peer], strict=True)
            ]
            name = f"forcelink / {peer}" if ours_over else f"{peer} / forcelink"
            parts.append(
                f"{name} {ours / theirs if ours_over else theirs / ours:.2f}x, paired "
                f"{statistics.median(paired):.2f}x ({min(paired):.2f}-{max(paired):.2f})"
            )
        print(f"  {label}: " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument(
        "--in-process", action="store_true", help="run the emulator inside this process instead of its own"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the three clients, interleaved (this machine is shared and noisy)",
    )
    args = parser.parse_args()
    n = args.records
    org = org_in_process if args.in_process else org_in_subprocess
    started = time.perf_counter()
    with org(n) as (url, token, ca):
        where = "this process" if args.in_process else "its own process"
        print(
            f"{n} Accounts ready in {time.perf_counter() - started:.1f} s (emulator in {where}); 10 fields, HTTPS"
        )
        sf = Salesforce.builder().instance_url(url).access_token(token).ca_cert_file(ca).build()
        asf = AsyncSalesforce.builder().instance_url(url).access_token(token).ca_cert_file(ca).build()
        session = requests.Session()
        session.verify = ca
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify otherwise
        peer = SimpleSalesforce(instance_url=url, session_id=token, session=session, version="62.0")

        def ours_sync() -> set[str]:
            return {r["Id"] for r in sf.query.stream(SOQL)}

        def ours_async() -> set[str]:
            found: list[set[str]] = []

            async def go() -> None:
                found.append({r["Id"] async for r in asf.query.stream(SOQL)})

            # The main task returns None: on Python 3.11 asyncio.run reprs its task while it
            # restores the SIGINT handler, and a task holding 200,000 ids costs ~0.2 s to repr.
            asyncio.run(go())
            return found[0]

        def theirs() -> set[str]:
            return {r["Id"] for r in peer.query_all_iter(SOQL)}

        results: dict[str, list[tuple[float, float]]] = {"sync": [], "async": [], "peer": []}
        for round_number in range(1, args.rounds + 1):
            print(f" round {round_number}")
            results["sync"].append(run("forcelink sync stream", ours_sync, n))
            results["async"].append(run("forcelink async stream", ours_async, n))
            results["peer"].append(run("simple-salesforce query_all_iter", theirs, n))
            ratios("this round:", results["peer"][-1], results["sync"][-1], results["async"][-1])

        def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
            return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

        def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
            return min(w for w, _ in runs), min(c for _, c in runs)

        print(f" over {args.rounds} rounds")
        ratios("medians:", median(results["peer"]), median(results["sync"]), median(results["async"]))
        ratios("best of each:", best(results["peer"]), best(results["sync"]), best(results["async"]))
        process_costs(url, token, ca, n, args.rounds)


if __name__ == "__main__":
    main()
