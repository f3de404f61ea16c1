"""What the Spark benchmarks share: the emulator in a process of its own, a measured run's
process-tree CPU and memory (the JVM and the Python workers count), and a session with the data
sources registered."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def org_process(command: list[str]) -> Iterator[dict[str, str]]:
    """Runs `command` (a script's serving mode, which prints its settings as one JSON line and
    serves until its standard input closes) and yields the settings."""
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("the emulator process ended early")
            yield json.loads(line)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)


def _tree() -> list[Any]:
    import psutil

    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def tree_cpu() -> float:
    """CPU seconds of this process and every process under it."""
    import psutil

    total = 0.0
    for proc in _tree():
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def tree_rss_mb() -> float:
    import psutil

    total = 0
    for proc in _tree():
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 1e6


def spark_session(master: str, **config: str) -> Any:
    from pyspark.sql import SparkSession

    import forcelink.spark

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in config.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    forcelink.spark.register(spark)
    return spark
