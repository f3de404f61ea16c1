"""Mirror Account changes into parquet with Spark Structured Streaming, exactly once: offsets are
Pub/Sub replay ids kept in the checkpoint, so a query restarted from it neither skips nor repeats
a change. Credentials come from the SF_* environment."""

import os
import sys
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession

import forcelink.spark
from forcelink import Salesforce

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
forcelink.spark.register(spark)

sf = Salesforce.from_env()
created = sf.bulk.insert("Account", [{"Name": f"Streamed {i}"} for i in range(500)])
print("changes made:", created.records_processed)

where = Path(tempfile.mkdtemp())
changes = (
    spark.readStream.format("forcelink-cdc")
    .option("topic", "/data/AccountChangeEvent")
    .option("startingReplay", "earliest")
    .option("maxEventsPerTrigger", "200")
    .load()
    .select("replay_id", "change_type", "record_ids", "commit_timestamp", "payload.Name")
)
query = (
    changes.writeStream.format("parquet")
    .option("path", str(where / "account_changes"))
    .option("checkpointLocation", str(where / "checkpoint"))
    .trigger(availableNow=True)  # what has arrived, in batches of 200, then stop
    .start()
)
query.awaitTermination()
mirrored = spark.read.parquet(str(where / "account_changes"))
print(
    "changes in the sink:",
    mirrored.count(),
    "of which CREATE:",
    mirrored.filter("change_type = 'CREATE'").count(),
)
spark.stop()
