"""Runs a client in a new Python process and reads its own costs: CPU (user + system, all
threads) of each step, wall time, and peak RSS.

Peak RSS is read from ``VmHWM`` in /proc/self/status, which starts afresh at exec: the
``ru_maxrss`` of getrusage is carried over from the parent across fork and exec, so a child of a
process holding an emulator would report the emulator's memory. Byte-code caches are allowed
(an installed package has them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

PROLOGUE = """
import json, os, resource, sys, time
def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
_marks = [(_cpu(), time.perf_counter())]
def mark():
    _marks.append((_cpu(), time.perf_counter()))
"""

EPILOGUE = """
_hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({
    "steps": [(b[0] - a[0], b[1] - a[1]) for a, b in zip(_marks, _marks[1:])],
    "rss_mb": int(_hwm.split()[1]) / 1024,
    "result": globals().get("result"),
}))
"""


# simple-salesforce on the emulator in a child: its import, and its client built from the SF_*
# settings over HTTPS (trusting the emulator's CA; the environment's CA variables would override
# `session.verify` otherwise).
SIMPLE_SALESFORCE_IMPORT = "import requests\nfrom simple_salesforce import Salesforce"
SIMPLE_SALESFORCE_BUILD = (
    "session = requests.Session()\nsession.trust_env = False\n"
    "session.verify = os.environ['SF_CA_CERT_FILE']\n"
    "sf = Salesforce(instance_url=os.environ['SF_INSTANCE_URL'], "
    "session_id=os.environ['SF_ACCESS_TOKEN'], session=session, version='62.0')"
)


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without SF_* settings or PYTHONDONTWRITEBYTECODE, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(settings)
    return env


def run_steps(steps: Sequence[str], env: Mapping[str, str]) -> dict[str, object]:
    """Runs each code block of `steps` in one new process, marking after each; returns
    ``steps`` (CPU, wall) per block, ``rss_mb`` and the child's global ``result``."""
    code = PROLOGUE + "".join(f"{step}\nmark()\n" for step in steps) + EPILOGUE
    out = subprocess.run([sys.executable, "-c", code], env=dict(env), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"a measured child failed:\n{out.stderr}")
    measured: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return measured
