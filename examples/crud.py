"""Create, read, update and delete an Account, configured from the SF_* variables."""

from forcelink import NotFoundError, Salesforce

sf = Salesforce.from_env()
saved = sf.sobjects.create("Account", {"Name": "Example Corp", "Industry": "Technology"})
print("created", saved.id)
sf.sobjects.update("Account", saved.id, {"Industry": "Energy"})
record = sf.sobjects.get("Account", saved.id, fields=["Name", "Industry"])
print("read back", record["Name"], record["Industry"])
sf.sobjects.delete("Account", saved.id)
try:
    sf.sobjects.get("Account", saved.id)
except NotFoundError as e:
    print("deleted:", e.error_code)
