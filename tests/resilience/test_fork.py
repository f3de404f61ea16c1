"""Forked children (gunicorn --preload, Celery prefork, multiprocessing's fork start method)
after the parent used the library: a client built in the child works, sync and async, on a
runtime of its own; the parent's client used in the child raises an error naming the fix."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable

import pytest

from forcelink import AsyncSalesforce, ConfigError, Salesforce
from forcelink.testing import Emulator

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")


def in_child(work: Callable[[], None]) -> int:
    """Runs ``work`` in a forked child; its exit status (0 when ``work`` returned)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            work()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def settings(org: Emulator) -> tuple[str, str]:
    return org.instance_url, org.access_token


def build_sync(instance_url: str, token: str) -> Salesforce:
    return Salesforce.builder().instance_url(instance_url).access_token(token).build()


def build_async(instance_url: str, token: str) -> AsyncSalesforce:
    return AsyncSalesforce.builder().instance_url(instance_url).access_token(token).build()


def test_a_client_built_in_a_forked_child_works_after_the_parent_used_one() -> None:
    with Emulator() as org:
        url, token = settings(org)
        parent = build_sync(url, token)
        parent.sobjects.create("Account", {"Name": "Before fork"})

        def child_sync() -> None:
            sf = build_sync(url, token)
            assert sf.query.query("SELECT Id FROM Account").total_size == 1
            sf.sobjects.create("Account", {"Name": "From the child"})

        def child_async() -> None:
            async def run() -> int:
                asf = build_async(url, token)
                return (await asf.query.query("SELECT Id FROM Account")).total_size

            assert asyncio.run(run()) == 2

        assert in_child(child_sync) == 0
        assert in_child(child_async) == 0
        # The parent goes on as before.
        assert parent.query.query("SELECT Id FROM Account").total_size == 2


def test_the_parents_client_in_a_child_names_the_fix() -> None:
    with Emulator() as org:
        parent = build_sync(*settings(org))
        parent.limits.get()

        def child() -> None:
            with pytest.raises(ConfigError, match="cannot be used after fork"):
                parent.limits.get()

        assert in_child(child) == 0
        assert "DailyApiRequests" in parent.limits.get()


def count_accounts(args: tuple[str, str]) -> int:
    return build_sync(*args).query.query("SELECT Id FROM Account").total_size


def test_multiprocessing_fork_workers_build_their_own_clients() -> None:
    with Emulator() as org:
        args = settings(org)
        build_sync(*args).sobjects.create("Account", {"Name": "Seen by workers"})
        with multiprocessing.get_context("fork").Pool(2) as pool:
            assert pool.map(count_accounts, [args] * 4) == [1, 1, 1, 1]


def test_a_child_forked_before_any_use_works_too() -> None:
    with Emulator() as org:
        url, token = settings(org)

        def child() -> None:
            assert "DailyApiRequests" in build_sync(url, token).limits.get()

        assert in_child(child) == 0
