"""forcelink as a Spark data source (PySpark 4's Python Data Source API; ``forcelink[spark]``):
``forcelink`` for batch reads and writes, ``forcelink-cdc`` for streams of events.

>>> import forcelink.spark
>>> forcelink.spark.register(spark)
>>> df = spark.read.format("forcelink").option("object", "Account").load()
>>> df.write.format("forcelink").option("object", "Account").option("operation", "upsert") \\
...     .option("externalIdField", "Ext_Id__c").mode("append").save()

Reads plan one Bulk API 2.0 query job on the driver and read its result pages on the executors,
each page a partition of Arrow record batches built in Rust. Writes stage each task's rows in
Bulk ingest jobs left open, which the driver's commit closes and its abort aborts. Credentials
come from the options (``instanceUrl``, ``accessToken``, ``clientId``, ``username``,
``privateKeyFile``, ...) or the ``SF_*`` environment, on the driver and the executors alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CdcDataSource", "DataLossError", "ForcelinkDataSource", "SparkWriteError", "register"]

_HINT = "the Spark data source needs pyspark and pyarrow: pip install 'forcelink[spark]'"


_REDACTED_OPTIONS = "(?i)privatekey|accesstoken|refreshtoken|clientsecret"


def register(spark: Any) -> None:
    """Registers the ``forcelink`` data source with a SparkSession, and sets what it needs:
    the Python data source filter pushdown (``spark.sql.python.filterPushdown.enabled``), and
    the redaction of its secret options (``privateKey`` among them, which Spark's own pattern
    misses) wherever Spark shows a command's options."""
    from .source import ForcelinkDataSource
    from .streaming import CdcDataSource

    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    redacted = spark.conf.get("spark.sql.redaction.options.regex", "(?i)url")
    if _REDACTED_OPTIONS not in redacted:
        spark.conf.set("spark.sql.redaction.options.regex", f"{redacted}|{_REDACTED_OPTIONS}")
    spark.dataSource.register(ForcelinkDataSource)
    spark.dataSource.register(CdcDataSource)


def __getattr__(name: str) -> Any:
    # pyspark is imported only when the data source is used: `import forcelink` stays light.
    if name == "ForcelinkDataSource":
        from .source import ForcelinkDataSource

        return ForcelinkDataSource
    if name in ("CdcDataSource", "DataLossError"):
        from . import streaming

        return getattr(streaming, name)
    if name == "SparkWriteError":
        from .writing import SparkWriteError

        return SparkWriteError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
