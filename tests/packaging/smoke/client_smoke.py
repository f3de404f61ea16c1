"""Run by the client wheel's fresh virtual environment (see tests/packaging/test_packaging.py) against a
standalone emulator process, configured from SF_* variables: the install works end to end, with
no emulator and no dev tools present. Prints one JSON line of what it saw."""

import json
import subprocess
import sys

import forcelink

sf = forcelink.Salesforce.from_env()
saved = sf.sobjects.create("Account", {"Name": "Smoke"})
name = sf.sobjects.get("Account", saved.id, fields=["Name"])["Name"]
count = sf.query.query("SELECT COUNT() FROM Account").total_size
loaded = sf.bulk.insert("Account", [{"Name": f"Bulk {i}"} for i in range(250)], poll_interval=0.05)
with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest", batch_size=10) as sub:
    event = next(iter(sub))
try:
    import forcelink.testing

    testing_error = ""
except ImportError as e:
    testing_error = str(e)
try:
    import forcelink_emulator  # noqa: F401

    emulator_present = True
except ImportError:
    emulator_present = False
demo = subprocess.run([sys.executable, "-m", "forcelink.cli", "demo"], capture_output=True, text=True)
print(
    json.dumps(
        {
            "version": forcelink.__version__,
            "name": name,
            "count": count,
            "bulk_processed": loaded.records_processed,
            "first_change": event.payload["ChangeEventHeader"]["changeType"],
            "testing_error": testing_error,
            "emulator_present": emulator_present,
            "demo_exit": demo.returncode,
            "demo_stderr": demo.stderr,
        }
    )
)
