"""Read Account change events (Change Data Capture) over the Pub/Sub API, from the earliest."""

from forcelink import Salesforce

sf = Salesforce.from_env()
sf.sobjects.create("Account", {"Name": "Watched"})
with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest") as subscription:
    for event in subscription:
        header = event.payload["ChangeEventHeader"]
        print(header["changeType"], header["entityName"], header["recordIds"])
        break  # the event in hand counts as handled when the loop ends here
