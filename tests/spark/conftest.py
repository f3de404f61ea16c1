"""One SparkSession for every Spark test (a JVM takes 5-8 s to start), in local mode with two
worker threads, and an emulator whose credentials the data source reads from its options."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

# Imported, not skipped: scripts/test.sh installs pyspark, so a missing one is a failure.
import pyspark  # noqa: F401
import pytest

from forcelink.testing import Emulator


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    import forcelink.spark

    # The executors' Python workers run this interpreter, so they import this forcelink.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2, 2]")  # two threads; a failed task is tried twice
        .appName("forcelink-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    forcelink.spark.register(session)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_org() -> Iterator[Emulator]:
    """An emulator shared by a module's Spark tests."""
    with Emulator() as org:
        yield org


def source_options(org: Emulator) -> dict[str, str]:
    """The data source's credential options for an emulator."""
    options = {
        "instanceUrl": org.instance_url,
        "accessToken": org.access_token,
        "pubsubEndpoint": org.pubsub_url,
    }
    if org.ca_cert_path is not None:
        options["caCertFile"] = org.ca_cert_path
    return options
