"""Write 20,000 Accounts from four Spark partitions (Bulk jobs that run only when the whole
write commits), then read them back in parallel, one partition per Bulk result page.

Credentials come from the SF_* environment, on the driver and on the executors."""

import os
import sys

from pyspark.sql import SparkSession

import forcelink.spark

# The executors' Python workers run this interpreter, which has forcelink installed.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
spark = (
    SparkSession.builder.master("local[2]")
    .appName("forcelink-example")
    .config("spark.ui.enabled", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
forcelink.spark.register(spark)

accounts = spark.range(20_000, numPartitions=4).selectExpr(
    "concat('Spark ', id) AS Name", "CAST(id AS INT) AS NumberOfEmployees"
)
accounts.write.format("forcelink").option("object", "Account").mode("append").save()

read = (
    spark.read.format("forcelink")
    .option("object", "Account")
    .option("fields", "Id, Name, NumberOfEmployees, CreatedDate")
    .option("numPartitions", "8")
    .load()
)
print("partitions:", read.rdd.getNumPartitions())
read.printSchema()
# Pushed into the query job's SOQL: Salesforce sends only these rows.
print("with 19,000 employees or more:", read.filter("NumberOfEmployees >= 19000").count())
spark.stop()
