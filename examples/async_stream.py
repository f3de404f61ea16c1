"""Stream every Account with the async client, the next page fetched while this one is read."""

import asyncio

from forcelink import AsyncSalesforce


async def main() -> None:
    async with AsyncSalesforce.from_env() as sf:
        await sf.sobjects.create("Account", {"Name": "Async Example"})
        names = [record["Name"] async for record in sf.query.stream("SELECT Name FROM Account")]
        print(len(names), "accounts")


asyncio.run(main())
