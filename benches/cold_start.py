"""Cold start, as a serverless function pays it: a new Python process imports the client, builds
it from the environment and makes one call (`/limits`, over HTTPS). Ours against
simple-salesforce's, each in its own process, alternating; CPU and wall time of each step, and
peak RSS.

Run: python benches/cold_start.py [--runs 7]
Use a release build (maturin develop --release). The emulator runs in this process; the clients
run in children, so the figures are theirs alone.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from child_costs import SIMPLE_SALESFORCE_BUILD, SIMPLE_SALESFORCE_IMPORT, child_env, run_steps

from forcelink.testing import Emulator

CLIENTS = {
    "forcelink": [
        "from forcelink import Salesforce",
        "sf = Salesforce.from_env()",
        "result = sf.limits.get()['DailyApiRequests']['Max']",
    ],
    "simple-salesforce": [
        SIMPLE_SALESFORCE_IMPORT,
        SIMPLE_SALESFORCE_BUILD,
        "result = sf.limits()['DailyApiRequests']['Max']",
    ],
}
STEPS = ("import", "build", "first call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7, help="runs of each client, alternating")
    args = parser.parse_args()
    with Emulator(tls=True) as org:
        env = child_env(
            {
                "SF_INSTANCE_URL": org.instance_url,
                "SF_ACCESS_TOKEN": org.access_token,
                "SF_CA_CERT_FILE": org.ca_cert_path or "",
            }
        )
        for steps in CLIENTS.values():  # writes the byte-code caches, as an installed package has them
            run_steps(steps, env)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CLIENTS}
        for _ in range(args.runs):
            for name, steps in CLIENTS.items():
                measured = run_steps(steps, env)
                if not measured["result"]:
                    raise SystemExit(f"{name}: the call returned no limit")
                runs[name].append(measured)
    print(
        f"cold start: a new process imports, builds from the environment, calls /limits ({args.runs} runs, medians)"
    )
    header = "".join(f"{step + ' CPU / wall':>26}" for step in STEPS)
    print(f"  {'':<18}{header}{'total CPU':>12}{'peak RSS':>11}")
    totals: dict[str, float] = {}
    for name, results in runs.items():
        cells = []
        for i, _ in enumerate(STEPS):
            cpu = statistics.median(r["steps"][i][0] for r in results)
            wall = statistics.median(r["steps"][i][1] for r in results)
            cells.append(f"{cpu * 1000:9.1f} / {wall * 1000:6.1f} ms")
        totals[name] = statistics.median(sum(step[0] for step in r["steps"]) for r in results)
        rss = statistics.median(r["rss_mb"] for r in results)
        print(
            f"  {name:<18}"
            + "".join(f"{c:>26}" for c in cells)
            + f"{totals[name] * 1000:9.1f} ms{rss:8.1f} MB"
        )
    ratio = totals["simple-salesforce"] / totals["forcelink"]
    print(f"  total CPU simple-salesforce / forcelink: {ratio:.2f}x")


if __name__ == "__main__":
    main()
