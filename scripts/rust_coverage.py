"""The Rust client's coverage per module, from cargo-tarpaulin's JSON report, against floors.

The modules are the specification's (auth, sobjects, query, bulk, events, limits, error mapping,
simulation), each a set of files under rust/client/src; "client" is every file of the crate.
Each module has a floor: the figure reached when it was last raised. The run fails when a module
falls under its floor, so coverage only moves up.

Run: python scripts/rust_coverage.py target/tarpaulin/tarpaulin-report.json [--missed MODULE]
(--missed lists the lines no test reached, file by file, for one module.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CLIENT = "rust/client/src/"

# module: (the files or folders it is made of, its floor %, the specification's target %)
MODULES: dict[str, tuple[tuple[str, ...], float, float]] = {
    "auth": (("auth/",), 96.0, 95.0),
    "sobjects": (("sobjects.rs",), 96.0, 90.0),
    "query": (("query.rs",), 92.0, 90.0),
    "bulk": (("bulk/",), 87.5, 85.0),
    "events": (("events/",), 84.5, 85.0),
    "limits": (("limits.rs",), 100.0, 90.0),
    "error mapping": (("error.rs",), 100.0, 100.0),
    "simulation": (("simulation.rs",), 84.0, 80.0),
    "client": (("",), 86.5, 85.0),
}


def relative(parts: list[str]) -> str | None:
    path = "/".join(parts).replace("//", "/")
    at = path.find(CLIENT)
    return path[at + len(CLIENT) :] if at >= 0 else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path)
    parser.add_argument("--missed", metavar="MODULE", help="list the lines no test reached")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    files = {}
    for entry in report["files"]:
        name = relative(entry["path"])
        if name is not None:
            missed = sorted(t["line"] for t in entry["traces"] if not t["stats"].get("Line"))
            files[name] = (entry["covered"], entry["coverable"], missed)

    failed = []
    print(f"{'module':<15}{'lines':>13}{'covered':>9}{'floor':>8}{'target':>8}")
    for module, (prefixes, floor, target) in MODULES.items():
        chosen = [f for f in files if f.startswith(prefixes)]
        covered = sum(files[f][0] for f in chosen)
        coverable = sum(files[f][1] for f in chosen)
        percent = 100.0 * covered / coverable if coverable else 0.0
        mark = "" if percent >= target else "  (under the target)"
        print(f"{module:<15}{covered:>6}/{coverable:<6}{percent:8.1f}%{floor:7.1f}%{target:7.1f}%{mark}")
        if percent + 1e-9 < floor:
            failed.append(f"{module} {percent:.1f}% is under its floor {floor:.1f}%")
        if args.missed == module:
            for f in sorted(chosen):
                if files[f][2]:
                    print(f"    {f}: {' '.join(map(str, files[f][2]))}")
    print(f"whole workspace (emulator and generated code included): {report['coverage']:.1f}%")
    for failure in failed:
        print(f"coverage floor: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
