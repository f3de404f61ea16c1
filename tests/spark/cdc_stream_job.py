"""A streaming job run as its own process by the crash tests: Change Data Capture events of
Accounts into parquet files, with a checkpoint. Settings come as one JSON argument; the job runs
until the file named ``stop`` exists, then stops the query cleanly."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

import forcelink.spark


def main() -> None:
    settings = json.loads(sys.argv[1])
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("forcelink-cdc-job")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    forcelink.spark.register(spark)
    stream = (
        spark.readStream.format("forcelink-cdc")
        .options(**settings["options"])
        .option("topic", "/data/AccountChangeEvent")
        .option("startingReplay", "earliest")
        .option("maxEventsPerTrigger", str(settings.get("max_events", 2000)))
        .load()
        .select("replay_id", "change_type", "record_ids", "payload.Name")
    )
    query = (
        stream.writeStream.format("parquet")
        .option("path", settings["out"])
        .option("checkpointLocation", settings["checkpoint"])
        .trigger(processingTime="500 milliseconds")
        .start()
    )
    print("started", flush=True)
    stop = Path(settings["stop"])
    while not stop.exists():
        if query.exception() is not None:
            raise SystemExit(f"the query failed: {query.exception()}")
        time.sleep(0.2)
    query.stop()
    spark.stop()


if __name__ == "__main__":
    main()
