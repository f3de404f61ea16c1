"""Change Data Capture and platform events into Spark Structured Streaming, exactly once.

Offsets are replay ids. The driver keeps one subscription open for the life of the query and
learns from it the replay ids that have arrived; it hands Spark ranges ``(start, end]`` of them.
A task reads its range with a subscription of its own, from right after ``start`` to ``end``
inclusive, so a retried task, or a batch replayed from the checkpoint after a crash, reads the
same events again: no more, no fewer. Spark's checkpoint and a transactional sink (parquet,
Delta) do the rest.

An offset is ``{"replay": HEX, "n": N}``: the replay id of the last event of the batches so far
(16 hex digits, as Pub/Sub's 8 bytes), or ``"earliest"``/``"latest"`` before the first event,
and ``n``, the events counted since the query started, so a range knows its own length. A query
started at ``latest`` carries the first replay id it saw (``first``) until it has passed it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.pandas.types import to_arrow_schema

try:  # PySpark 4.1 and later: read limits and Trigger.AvailableNow for Python sources.
    from pyspark.sql.streaming.datasource import (
        ReadAllAvailable,
        ReadLimit,
        ReadMaxRows,
        SupportsTriggerAvailableNow,
    )
except ImportError:  # pragma: no cover - PySpark 4.0

    class ReadLimit:  # type: ignore[no-redef]
        pass

    class ReadAllAvailable(ReadLimit):  # type: ignore[no-redef]
        pass

    class ReadMaxRows(ReadLimit):  # type: ignore[no-redef]
        def __init__(self, max_rows: int) -> None:
            self.max_rows = max_rows

    class SupportsTriggerAvailableNow:  # type: ignore[no-redef]
        pass


from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ..errors import InvalidArgumentError, NotFoundError, PubSubError, ReplayIdError, SalesforceError
from ..events import MAX_BATCH_SIZE
from .options import as_dict, client_for, credentials_of, flag, positive_int

__all__ = ["CdcDataSource", "CdcStreamReader", "EventRange", "avro_to_spark"]

log = logging.getLogger("forcelink.spark")

#: Events asked for at a time by a subscription (Pub/Sub's most; the engine asks again before
#: its buffer runs dry).
_BATCH = MAX_BATCH_SIZE
#: How long the driver waits for the first new event of a micro-batch before saying "none".
_FIRST_WAIT = 1.0
#: How long it then waits for more, once events are flowing.
_MORE_WAIT = 0.05
#: The longest a micro-batch keeps receiving once events flow.
_FILL_BUDGET = 1.0
#: The longest Trigger.AvailableNow drains what has arrived before it fixes its target.
_DRAIN_BUDGET = 60.0
#: A task that sees no event of its range for this long fails (the range cannot be read).
_STALL = 120.0
#: The fewest events a micro-batch's range is split down to.
_MIN_RANGE = 1_000
#: Nesting of Avro types followed when typing the payload.
_MAX_DEPTH = 32

_HEADER_COLUMNS = [
    ("entity_name", StringType()),
    ("change_type", StringType()),
    ("record_ids", ArrayType(StringType())),
    ("commit_timestamp", TimestampType()),
    ("commit_user", StringType()),
    ("commit_number", LongType()),
    ("transaction_key", StringType()),
    ("sequence_number", IntegerType()),
    ("change_origin", StringType()),
    ("changed_fields", ArrayType(StringType())),
    ("nulled_fields", ArrayType(StringType())),
    ("diff_fields", ArrayType(StringType())),
]


class DataLossError(SalesforceError):
    """Events a stream should read are gone: its replay id is out of the retention window (or
    the topic is unknown). With ``failOnDataLoss=false`` the stream goes on from the earliest
    retained event instead, with a warning."""


def avro_to_spark(schema: Any, names: dict[str, Any] | None = None, depth: int = 0) -> DataType:
    """A Spark type for an Avro type: records as structs, ``["null", X]`` as X, enums as text,
    a union of several types as its JSON text."""
    if depth > _MAX_DEPTH:
        raise InvalidArgumentError("the event schema nests too deeply", argument="schema")
    names = {} if names is None else names
    if isinstance(schema, str):
        primitive = {
            "string": StringType(),
            "int": IntegerType(),
            "long": LongType(),
            "float": DoubleType(),
            "double": DoubleType(),
            "boolean": BooleanType(),
            "bytes": BinaryType(),
        }
        if schema in primitive:
            return primitive[schema]
        named = names.get(schema) or names.get(schema.rsplit(".", 1)[-1])
        return avro_to_spark(named, names, depth + 1) if named is not None else StringType()
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return avro_to_spark(branches[0], names, depth + 1) if len(branches) == 1 else StringType()
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            full = schema.get("name", "")
            if schema.get("namespace"):
                names[f"{schema['namespace']}.{full}"] = schema
            names[full] = schema
            return StructType(
                [
                    StructField(f["name"], avro_to_spark(f["type"], names, depth + 1), True)
                    for f in schema.get("fields", [])
                    if isinstance(f, dict) and "name" in f
                ]
            )
        if kind == "enum":
            return StringType()
        if kind == "array":
            return ArrayType(avro_to_spark(schema.get("items", "string"), names, depth + 1))
        if kind == "map":
            return MapType(StringType(), avro_to_spark(schema.get("values", "string"), names, depth + 1))
        if kind == "fixed":
            return BinaryType()
        return avro_to_spark(kind, names, depth + 1)
    return StringType()


def _hex(replay_id: bytes) -> str:
    return replay_id.hex()


def _replay_arg(offset: dict[str, Any]) -> str | bytes:
    replay = offset["replay"]
    return replay if replay in ("earliest", "latest") else bytes.fromhex(replay)


@dataclass
class EventRange(InputPartition):  # the events after ``start`` up to ``end``, inclusive
    start: dict[str, Any]
    end: dict[str, Any]

    def __init__(self, start: dict[str, Any], end: dict[str, Any]) -> None:
        super().__init__(json.dumps([start, end]))
        self.start = start
        self.end = end


class _Feed:
    """A subscription whose batches are fetched on a helper thread, so the caller can wait for
    one with a timeout and come back for it later."""

    def __init__(
        self, settings: dict[str, str], topic: str, replay: str | bytes, batch: int, *, ids_only: bool = False
    ) -> None:
        sf = client_for(settings)
        self._core = sf.events._core.subscribe(topic, replay=replay, batch_size=batch).wait()
        # The driver only tracks positions: its events are never decoded.
        self._ids_only = ids_only
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forcelink-events")
        self._coming: Future[Any] | None = None

    def next(self, timeout: float) -> list[Any] | None:
        """The next batch of events, [] when none came within ``timeout``; None when the stream
        ended."""
        if self._coming is None:
            self._coming = self._pool.submit(lambda: self._core.next_batch().wait())
        try:
            batch = self._coming.result(timeout=timeout)
        except FutureTimeout:
            return []
        self._coming = None
        if batch is None:
            return None
        found: list[Any] = batch.replay_ids() if self._ids_only else batch.events()
        return found

    def close(self) -> None:
        self._core.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class CdcStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Plans ranges of replay ids on the driver; reads each range on an executor."""

    def __init__(self, source: CdcDataSource, schema: StructType) -> None:
        self.topic = source.topic
        self.settings = source.settings
        self.starting = source.starting
        self.max_events = source.max_events
        self.fail_on_data_loss = source.fail_on_data_loss
        self.payload_mode = source.payload_mode
        self.change_topic = source.change_topic
        self.schema = schema
        # Driver state (not needed on the executors; dropped when pickled).
        self._feed: _Feed | None = None
        self._feed_at: dict[str, Any] | None = None
        self._seen: deque[bytes] = deque()
        self._target: int | None = None
        self._planned: tuple[dict[str, Any], dict[str, Any], list[bytes]] | None = None
        self.partitions_per_batch = source.partitions_per_batch

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_feed=None, _feed_at=None, _seen=deque(), _target=None, _planned=None)
        return state

    # --- the driver ----------------------------------------------------------------------

    def initialOffset(self) -> dict[str, Any]:
        return {"replay": self.starting, "n": 0}

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadAllAvailable() if self.max_events is None else ReadMaxRows(self.max_events)

    def prepareForTriggerAvailableNow(self) -> None:
        # What has arrived by now is the target: the driver drains its subscription once, in
        # the first latestOffset, and reads no further than that.
        self._target = -1

    def _open(self, start: dict[str, Any]) -> None:
        if self._feed is not None:
            self._feed.close()
        self._seen.clear()
        try:
            self._feed = _Feed(self.settings, self.topic, _replay_arg(start), _BATCH, ids_only=True)
        except ReplayIdError as e:
            self._lost(start, e)
            self._feed = _Feed(self.settings, self.topic, "earliest", _BATCH, ids_only=True)
        self._feed_at = start

    def _lost(self, start: dict[str, Any], cause: Exception) -> None:
        message = (
            f"the stream of {self.topic} cannot go on from replay id {start['replay']}: it is out of the "
            f"retention window ({cause})"
        )
        if self.fail_on_data_loss:
            raise DataLossError(
                message + "; set failOnDataLoss=false to go on from the earliest retained event"
            )
        log.warning("%s; going on from the earliest retained event (failOnDataLoss=false)", message)

    def _fill(self, want: int | None, budget: float = _FILL_BUDGET) -> None:
        """Receives what has arrived, waiting a little for the first event, for at most
        ``budget`` seconds once events flow (a busy topic never pauses)."""
        assert self._feed is not None
        wait = _FIRST_WAIT
        deadline: float | None = None
        while want is None or len(self._seen) < want:
            if deadline is not None and time.monotonic() > deadline:
                return
            try:
                events = self._feed.next(wait)
            except ReplayIdError as e:
                # Refused when the stream opened: the start is out of retention.
                assert self._feed_at is not None
                self._lost(self._feed_at, e)
                self._feed.close()
                self._seen.clear()
                self._feed = _Feed(self.settings, self.topic, "earliest", _BATCH, ids_only=True)
                continue
            if events is None:
                # The stream ended (the client reconnects inside; this is a closed one).
                self._feed.close()
                self._feed = None
                return
            if not events:
                return
            self._seen.extend(events)
            wait = _MORE_WAIT
            if deadline is None:
                deadline = time.monotonic() + budget

    def latestOffset(
        self, start: dict[str, Any] | None = None, limit: ReadLimit | None = None
    ) -> dict[str, Any]:
        if start is None:  # PySpark 4.0 gives neither
            start = self._feed_at or self.initialOffset()
        if limit is None:
            limit = self.getDefaultReadLimit()
        if self._feed is None or self._feed_at != start:
            self._open(start)
        if self._target == -1:
            self._fill(None, _DRAIN_BUDGET)
            self._target = len(self._seen)
        want = limit.max_rows if isinstance(limit, ReadMaxRows) else None
        if self._target is not None:
            want = self._target if want is None else min(want, self._target)
        if self._feed is not None and self._target is None:
            self._fill(want)
        take = len(self._seen) if want is None else min(want, len(self._seen))
        if take == 0:
            return start
        ids = [self._seen.popleft() for _ in range(take)]
        if self._target is not None:
            self._target -= take
        end: dict[str, Any] = {"replay": _hex(ids[-1]), "n": int(start["n"]) + take}
        if start["replay"] == "latest":
            end["first"] = _hex(ids[0])
        self._feed_at = end
        # Kept until planned, so the range can be split where the driver saw events.
        self._planned = (start, end, ids)
        return end

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> Sequence[InputPartition]:
        if start == end or int(end["n"]) <= int(start["n"]):
            return []
        planned, self._planned = self._planned, None
        if planned is None or planned[0] != start or planned[1] != end or self.partitions_per_batch == 1:
            # A batch replayed after a restart: the driver has not seen its events, one range.
            return [EventRange(start, end)]
        ids = planned[2]
        pieces = max(1, min(self.partitions_per_batch, len(ids) // _MIN_RANGE))
        size, extra = divmod(len(ids), pieces)
        ranges: list[InputPartition] = []
        at, offset = 0, start
        for i in range(pieces):
            upto = at + size + (1 if i < extra else 0)
            piece_end: dict[str, Any] = {"replay": _hex(ids[upto - 1]), "n": int(start["n"]) + upto}
            if offset["replay"] == "latest":
                piece_end["first"] = _hex(ids[0])
            if upto == len(ids):
                piece_end = end
            ranges.append(EventRange(offset, piece_end))
            at, offset = upto, piece_end
        return ranges

    def commit(self, end: dict[str, Any]) -> None:
        # Nothing to release: the checkpoint holds the offsets, and the service keeps no
        # position for a plain subscription.
        return None

    def stop(self) -> None:
        if self._feed is not None:
            self._feed.close()
            self._feed = None

    # --- the executors -------------------------------------------------------------------

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, EventRange):
            raise TypeError(f"not a forcelink-cdc partition: {partition!r}")
        start, end = partition.start, partition.end
        count = int(end["n"]) - int(start["n"])
        last = end["replay"]
        first = end.get("first") if start["replay"] == "latest" else None
        replay: str | bytes = "earliest" if first is not None else _replay_arg(start)
        try:
            feed = _Feed(self.settings, self.topic, replay, min(_BATCH, max(count, 1)))
        except ReplayIdError as e:
            self._lost(start, e)
            feed, count, first = _Feed(self.settings, self.topic, "earliest", _BATCH), -1, None
        target = to_arrow_schema(self.schema, timezone="UTC")
        taken, skipping, quiet_since = 0, first is not None, time.monotonic()
        try:
            while True:
                try:
                    events = feed.next(1.0)
                except ReplayIdError as e:
                    if taken:
                        raise
                    self._lost(start, e)
                    feed.close()
                    feed, count, skipping = _Feed(self.settings, self.topic, "earliest", _BATCH), -1, False
                    continue
                if events is None:
                    raise PubSubError(f"the subscription to {self.topic} ended before replay id {last}")
                if not events:
                    if time.monotonic() - quiet_since > _STALL:
                        raise DataLossError(
                            f"no event of the range up to replay id {last} of {self.topic} came in {_STALL:.0f} s"
                        )
                    continue
                quiet_since = time.monotonic()
                keep = []
                done = False
                for event in events:
                    hexed = _hex(event.replay_id)
                    if skipping:
                        if hexed != first:
                            continue
                        skipping = False
                    keep.append(event)
                    taken += 1
                    if hexed == last or taken == count:
                        done = True
                        break
                if keep:
                    yield self._batch(keep, target)
                if done:
                    if hexed != last:
                        message = f"{self.topic}: the range ended at replay id {hexed}, not {last}"
                        if self.fail_on_data_loss:
                            raise DataLossError(message + ": events of it are gone")
                        log.warning("%s (failOnDataLoss=false)", message)
                    return
        finally:
            feed.close()

    def _batch(self, events: list[Any], target: pa.Schema) -> pa.RecordBatch:
        columns: dict[str, list[Any]] = {name: [] for name in target.names}
        for event in events:
            error = event.decode_error
            columns["replay_id"].append(event.replay_id)
            columns["event_id"].append(event.event_id)
            columns["schema_id"].append(event.schema_id)
            columns["topic"].append(self.topic)
            columns["decode_error"].append(None if error is None else str(error))
            columns["raw"].append(event.raw if error is not None else None)
            payload = None if error is not None else event.payload
            if self.change_topic:
                header = getattr(event, "header", None) if error is None else None
                for name, _ in _HEADER_COLUMNS:
                    columns[name].append(None if header is None else getattr(header, name))
                if payload is not None and self.payload_mode == "json":
                    payload = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
            # A struct column takes the fields its type names: the header inside is left out.
            if self.payload_mode == "json":
                columns["payload"].append(None if payload is None else json.dumps(payload, default=str))
            else:
                columns["payload"].append(payload)
        arrays = []
        for f in target:
            if f.name == "commit_timestamp":
                # Milliseconds since the epoch, made microseconds in one step.
                millis = pa.array(columns[f.name], type=pa.int64())
                arrays.append(pa.compute.multiply(millis, 1000).cast(f.type))
            else:
                arrays.append(pa.array(columns[f.name], type=f.type))
        return pa.RecordBatch.from_arrays(arrays, schema=target)


class CdcDataSource(DataSource):
    """``spark.readStream.format("forcelink-cdc")``: change events and platform events of one
    topic, offsets as replay ids. Options: ``topic``, ``startingReplay`` (``earliest``,
    ``latest`` or a replay id in hex, as in the checkpoint's offsets), ``maxEventsPerTrigger``,
    ``failOnDataLoss`` (default true), ``payload`` (``struct`` or ``json``) and the batch source's
    credential options."""

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        opts = as_dict(options)
        self.settings = credentials_of(opts)
        topic = opts.get("topic", "").strip()
        if not topic.startswith(("/data/", "/event/")):
            raise InvalidArgumentError(
                f"topic must be a channel such as /data/AccountChangeEvent or /event/Order__e, not {topic!r}",
                argument="topic",
            )
        self.topic = topic
        self.change_topic = topic.startswith("/data/")
        starting = opts.get("startingreplay", "latest").strip().lower()
        if starting not in ("earliest", "latest"):
            try:
                if len(bytes.fromhex(starting)) != 8:
                    raise ValueError
            except ValueError:
                raise InvalidArgumentError(
                    "startingReplay must be earliest, latest or a replay id of 16 hex digits (as in the "
                    f"checkpoint's offsets), not {starting!r}",
                    argument="startingReplay",
                ) from None
        self.starting = starting
        self.max_events = positive_int(opts, "maxeventspertrigger")
        self.partitions_per_batch = positive_int(opts, "numpartitions") or 2
        self.fail_on_data_loss = flag(opts, "failondataloss", default=True)
        payload = opts.get("payload", "struct").lower()
        if payload not in ("struct", "json"):
            raise InvalidArgumentError(f"payload must be struct or json, not {payload!r}", argument="payload")
        self.payload_mode = payload

    @classmethod
    def name(cls) -> str:
        return "forcelink-cdc"

    def __repr__(self) -> str:
        return f"CdcDataSource(topic={self.topic!r})"

    def _payload_type(self) -> DataType:
        if self.payload_mode == "json":
            return StringType()
        events = client_for(self.settings).events
        info = self._topic_info()
        if not info.schema_id:
            raise InvalidArgumentError(
                f"{self.topic} carries events of several schemas: read it with payload=json",
                argument="payload",
            )
        schema = json.loads(events.get_schema(info.schema_id).schema_json)
        payload = avro_to_spark(schema)
        if isinstance(payload, StructType) and self.change_topic:
            payload = StructType([f for f in payload.fields if f.name != "ChangeEventHeader"])
        return payload

    def schema(self) -> StructType:
        fields = [
            StructField("replay_id", BinaryType(), False),
            StructField("event_id", StringType(), True),
            StructField("schema_id", StringType(), True),
            StructField("topic", StringType(), False),
        ]
        if self.change_topic:
            fields += [StructField(name, kind, True) for name, kind in _HEADER_COLUMNS]
        fields += [
            StructField("payload", self._payload_type(), True),
            StructField("decode_error", StringType(), True),
            StructField("raw", BinaryType(), True),
        ]
        return StructType(fields)

    def _topic_info(self) -> Any:
        # A topic the org does not have fails here, whatever failOnDataLoss says: there is no
        # earliest event of it to go on from.
        try:
            return client_for(self.settings).events.get_topic(self.topic)
        except (NotFoundError, PubSubError) as e:
            raise DataLossError(f"the org has no topic {self.topic}: {e}") from e

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        self._topic_info()
        return CdcStreamReader(self, schema)
