"""Load 10,000 Accounts with Bulk API 2.0, then extract them to a CSV file page by page."""

import tempfile
from pathlib import Path

from forcelink import Salesforce

sf = Salesforce.from_env()
rows = ({"Name": f"Bulk {i}", "AccountNumber": f"B-{i:05d}"} for i in range(10_000))
result = sf.bulk.insert("Account", rows)
print("processed", result.records_processed, "failed", result.records_failed)

out = Path(tempfile.mkdtemp()) / "accounts.csv"
count = sf.bulk.query_to_file("SELECT Id, Name, AccountNumber FROM Account", out)
print("extracted", count, "records to", out)
