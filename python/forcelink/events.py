"""Platform events and Change Data Capture over the Pub/Sub API: ``sf.events``.

Subscribing yields ``Event`` objects (``replay_id``, ``payload``, ``schema_id``,
``event_id``, ``raw``); change events are ``ChangeEvent`` with a decoded ``header`` and
``changed_fields`` / ``nulled_fields`` / ``diff_fields`` expanded to field names. The Rust engine
asks for more events before its buffer runs dry, holds a bounded queue, and reconnects after a
dropped stream right after the last event it handed over; a replay id the service refuses
raises ``ReplayIdError`` instead of moving elsewhere.

    for event in sf.events.subscribe("/data/AccountChangeEvent", replay="earliest"):
        print(event.header.change_type, event.changed_fields)
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._core import (
    ChangeEvent,
    ChangeEventHeader,
    Event,
    EventsCore,
    Pending,
    PublishStreamCore,
    SubscriptionCore,
    events_defaults,
)
from ._twins import async_twin_of
from .errors import PubSubError

if TYPE_CHECKING:
    import asyncio

    from typing_extensions import Self

__all__ = [
    "AsyncEvents",
    "AsyncPublishStream",
    "AsyncSubscription",
    "ChangeEvent",
    "ChangeEventHeader",
    "Event",
    "Events",
    "PublishResult",
    "PublishStream",
    "PublishedEvent",
    "Replay",
    "SchemaInfo",
    "Subscription",
    "TopicInfo",
]

Replay = str | bytes | int
"""Where a subscription starts: ``"latest"``, ``"earliest"``, or a stored replay id (the
event's 8 ``replay_id`` bytes, or ``replay_id_int``) to resume right after."""


@dataclass(frozen=True)
class TopicInfo:
    topic_name: str
    tenant_guid: str
    can_publish: bool
    can_subscribe: bool
    schema_id: str


@dataclass(frozen=True)
class SchemaInfo:
    schema_id: str
    schema_json: str


@dataclass(frozen=True)
class PublishedEvent:
    """What REST answered: the ``e01...`` id and the event's UUID (``OPERATION_ENQUEUED``)."""

    id: str
    event_uuid: str


@dataclass(frozen=True)
class PublishResult:
    """One event's gRPC publish outcome: its ``replay_id``, or ``error`` when refused."""

    replay_id: bytes | None
    error: str | None
    correlation_key: str

    @property
    def ok(self) -> bool:
        """True when the event was published."""
        return self.error is None


def _results(raw: list[dict[str, Any]]) -> list[PublishResult]:
    return [PublishResult(**r) for r in raw]


# The engine declares each default once (its SubscribeOptions); the signatures below show them.
_ENGINE_DEFAULTS = events_defaults()
#: Events a subscription asks for at a time, by default: Salesforce's most.
DEFAULT_BATCH_SIZE: int = int(_ENGINE_DEFAULTS["batch_size"])
#: The most events one request may ask for (Pub/Sub's limit).
MAX_BATCH_SIZE: int = int(_ENGINE_DEFAULTS["max_batch_size"])
#: Consecutive failed reconnections before a subscription gives up, by default.
DEFAULT_MAX_RETRIES: int = int(_ENGINE_DEFAULTS["max_retries"])


def _check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, got {batch_size}")


class _Position:
    """What a subscription handed out and what the loop finished with, shared by the sync and
    async twins. Events are kept, not their replay ids, so the loop pays for no bytes object
    per event."""

    _managed: bool

    def __init__(self, timeout: float | None = None) -> None:
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout}")
        self._in_hand: Event | None = None
        self._handled: Event | None = None
        self._committed: bytes | None = None
        self._closed = False
        self._timeout = timeout
        self._idle_since = 0.0

    def _wait_limit(self) -> float | None:
        """How long the next wait for events may take before the idle timeout ends the loop."""
        if self._timeout is None:
            return None
        return max(0.0, self._timeout - (time.monotonic() - self._idle_since))

    def _idle_over(self) -> bool:
        return self._timeout is not None and time.monotonic() - self._idle_since >= self._timeout

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        managed = ", managed" if self._managed else ""
        return f"{type(self).__name__}({state}{managed}, last_replay_id={self.last_replay_id!r})"

    @property
    def last_replay_id(self) -> bytes | None:
        """The replay id of the last event whose loop body returned: store it to resume after."""
        return None if self._handled is None else self._handled.replay_id

    def _commit_target(self, replay_id: bytes | int | None) -> bytes | int | None:
        """What a commit should store, or None when there is nothing new to commit."""
        target = replay_id if replay_id is not None else self.last_replay_id
        return None if target is None or target == self._committed else target

    def _committed_to(self, target: bytes | int) -> None:
        self._committed = target if isinstance(target, bytes) else None

    def _finish(self, *, in_hand_handled: bool) -> None:
        if in_hand_handled and self._in_hand is not None:
            self._handled = self._in_hand


class Subscription(_Position):
    """Iterate for events, in order. ``close()`` (or leaving a ``with`` block) ends it.

    For a managed subscription the position is committed after the loop body returned for
    every event of a delivered batch, and on ``close()``: a restart resumes after the last
    event handled. An event taken by the loop that then left by ``break`` counts as handled
    when the loop's own thread closes the subscription (``close()`` or the end of a ``with``
    block); one in hand when an exception left the ``with`` block does not, and neither does
    one in hand when another thread calls ``close()``."""

    def __init__(
        self, core: SubscriptionCore, *, managed: bool = False, timeout: float | None = None
    ) -> None:
        super().__init__(timeout)
        self._core = core
        self._managed = managed
        self._reader: int | None = None

    def __iter__(self) -> Iterator[Event]:
        core = self._core
        self._reader = threading.get_ident()
        self._idle_since = time.monotonic()
        while True:
            batch = core.next_batch(self._wait_limit()).wait()
            if batch is None or self._closed:
                return
            events = batch.events()
            if not events:
                if self._idle_over():
                    self._close(in_hand_handled=True)
                    return
                continue
            for event in events:
                if self._closed:  # closed by another thread: hand out no more
                    return
                self._in_hand = event
                yield event
                self._handled = event
            self._idle_since = time.monotonic()
            if self._managed:
                try:
                    self.commit()
                except PubSubError:
                    if not self._closed:  # close() from another thread commits instead
                        raise

    def commit(self, replay_id: bytes | int | None = None) -> None:
        """Commits ``replay_id`` (default: the last event handled) of a managed subscription."""
        target = self._commit_target(replay_id)
        if target is not None:
            self._core.commit(target).wait()
            self._committed_to(target)

    def close(self) -> None:
        """Ends the subscription (also from another thread: a waiting loop then ends). A
        managed subscription commits what was handled first (see the class docstring)."""
        self._close(in_hand_handled=threading.get_ident() == self._reader)

    def _close(self, *, in_hand_handled: bool) -> None:
        if self._closed:
            return
        if self._managed:
            self._finish(in_hand_handled=in_hand_handled)
            self.commit()
        self._closed = True
        self._core.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._close(in_hand_handled=exc_type is None)


class AsyncSubscription(_Position):
    """``async for`` events, in order; the async twin of ``Subscription``, committing the
    same way (the loop's own task stands for its thread). The stream opens on first iteration
    (or on entering ``async with``)."""

    def __init__(
        self, opening: Pending[SubscriptionCore], *, managed: bool = False, timeout: float | None = None
    ) -> None:
        super().__init__(timeout)
        self._opening: Pending[SubscriptionCore] | None = opening
        self._core: SubscriptionCore | None = None
        self._managed = managed
        self._reader: asyncio.Task[Any] | None = None

    async def _open(self) -> SubscriptionCore:
        if self._core is None:
            if self._opening is None:
                raise RuntimeError("the subscription is closed")
            self._core = await self._opening
            self._opening = None
        return self._core

    async def __aiter__(self) -> AsyncIterator[Event]:
        core = await self._open()
        import asyncio  # here, not at the top: `import forcelink` stays light for sync users

        self._reader = asyncio.current_task()
        self._idle_since = time.monotonic()
        while True:
            batch = await core.next_batch(self._wait_limit())
            if batch is None or self._closed:
                return
            events = batch.events()
            if not events:
                if self._idle_over():
                    await self._close(in_hand_handled=True)
                    return
                continue
            for event in events:
                if self._closed:
                    return
                self._in_hand = event
                yield event
                self._handled = event
            self._idle_since = time.monotonic()
            if self._managed:
                try:
                    await self.commit()
                except PubSubError:
                    if not self._closed:
                        raise

    async def commit(self, replay_id: bytes | int | None = None) -> None:
        """Commits ``replay_id`` (default: the last event handled) of a managed subscription."""
        target = self._commit_target(replay_id)
        if target is not None:
            await (await self._open()).commit(target)
            self._committed_to(target)

    async def aclose(self) -> None:
        """Ends the subscription; a managed one commits what was handled first."""
        import asyncio

        await self._close(in_hand_handled=asyncio.current_task() is self._reader)

    async def _close(self, *, in_hand_handled: bool) -> None:
        if self._closed:
            return
        if self._core is None:
            self._opening = None
            self._closed = True
            return
        if self._managed:
            self._finish(in_hand_handled=in_hand_handled)
            await self.commit()
        self._closed = True
        self._core.close()

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        await self._close(in_hand_handled=exc_type is None)


class PublishStream:
    """A Pub/Sub PublishStream: each ``publish`` sends up to 200 events and returns their
    results."""

    def __init__(self, core: PublishStreamCore) -> None:
        self._core = core

    def publish(self, payloads: Iterable[Mapping[str, Any]]) -> list[PublishResult]:
        """Publishes events on the open stream; one result per event, in order."""
        return _results(self._core.publish(list(payloads)).wait())


@async_twin_of(PublishStream)
class AsyncPublishStream:
    def __init__(self, core: PublishStreamCore) -> None:
        self._core = core

    async def publish(self, payloads: Iterable[Mapping[str, Any]]) -> list[PublishResult]:
        return _results(await self._core.publish(list(payloads)))


class Events:
    """Reached as ``sf.events``."""

    def __init__(self, core: EventsCore) -> None:
        self._core = core

    def subscribe(
        self,
        topic: str,
        *,
        replay: Replay = "latest",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | None = None,
    ) -> Subscription:
        """Subscribes to ``/event/Name__e``, ``/data/ObjectChangeEvent`` or ``/data/ChangeEvents``.
        ``batch_size`` events are asked for at a time (at most 100, Salesforce's limit). With
        ``timeout``, iteration ends (and the subscription closes) after that many seconds
        without an event; time spent in the loop body does not count."""
        _check_batch_size(batch_size)
        core = self._core.subscribe(topic, replay=replay, batch_size=batch_size, max_retries=max_retries)
        return Subscription(core.wait(), timeout=timeout)

    def managed_subscribe(
        self, subscription: str, *, batch_size: int = DEFAULT_BATCH_SIZE, timeout: float | None = None
    ) -> Subscription:
        """Subscribes through a managed subscription (developer name or ``18x`` id); it starts
        after the position last committed, and commits as events are handled. ``timeout`` as
        for ``subscribe``."""
        _check_batch_size(batch_size)
        return Subscription(
            self._core.managed_subscribe(subscription, batch_size=batch_size).wait(),
            managed=True,
            timeout=timeout,
        )

    def publish(self, event: str, payload: Mapping[str, Any]) -> PublishedEvent:
        """Publishes one event over REST (``POST /sobjects/Name__e``)."""
        id_, uuid = self._core.publish(event, payload).wait()
        return PublishedEvent(id_, uuid)

    def publish_batch(self, event: str, payloads: Iterable[Mapping[str, Any]]) -> list[PublishResult]:
        """Publishes events over gRPC, in order, in Publish calls of at most 200 (Salesforce's
        recommendation). Every event is encoded against the topic's schema before anything is
        sent. Each event gets its own result: an event refused (larger than 1 MB, say) has its
        ``error`` set while the others are published; when a later call fails after earlier ones
        went through, the events it carried and those after it come back with ``error`` saying
        they were not confirmed (instead of an exception that would hide what was published);
        when the first call fails, it raises."""
        return _results(self._core.publish_batch(event, list(payloads)).wait())

    def publish_stream(self, event: str) -> PublishStream:
        """Opens a bidirectional publish stream for the event ``Name__e`` (many publishes over one stream)."""
        return PublishStream(self._core.publish_stream(event).wait())

    def get_topic(self, topic: str) -> TopicInfo:
        """A topic's details: its name, whether one can publish or subscribe, and its schema id."""
        return TopicInfo(**self._core.get_topic(topic).wait())

    def get_schema(self, schema_id: str) -> SchemaInfo:
        """An Avro schema by id, as JSON text with its fingerprint."""
        schema_id, schema_json = self._core.get_schema(schema_id).wait()
        return SchemaInfo(schema_id, schema_json)

    def event_schema(self, event_or_schema_id: str, *, compact: bool = False) -> dict[str, Any]:
        """An event's schema over REST, by event name (``Order__e``) or schema id: Salesforce's
        EXPANDED form, or with ``compact=True`` the Avro schema with its id as ``uuid``."""
        return self._core.event_schema(event_or_schema_id, compact=compact).wait()


@async_twin_of(Events)
class AsyncEvents:
    """Reached as ``sf.events`` on the async client."""

    def __init__(self, core: EventsCore) -> None:
        self._core = core

    def subscribe(
        self,
        topic: str,
        *,
        replay: Replay = "latest",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | None = None,
    ) -> AsyncSubscription:
        """``async for event in sf.events.subscribe(topic, replay="earliest")``; see
        ``Events.subscribe``."""
        _check_batch_size(batch_size)
        opening = self._core.subscribe(topic, replay=replay, batch_size=batch_size, max_retries=max_retries)
        return AsyncSubscription(opening, timeout=timeout)

    def managed_subscribe(
        self, subscription: str, *, batch_size: int = DEFAULT_BATCH_SIZE, timeout: float | None = None
    ) -> AsyncSubscription:
        _check_batch_size(batch_size)
        return AsyncSubscription(
            self._core.managed_subscribe(subscription, batch_size=batch_size), managed=True, timeout=timeout
        )

    async def publish(self, event: str, payload: Mapping[str, Any]) -> PublishedEvent:
        id_, uuid = await self._core.publish(event, payload)
        return PublishedEvent(id_, uuid)

    async def publish_batch(self, event: str, payloads: Iterable[Mapping[str, Any]]) -> list[PublishResult]:
        return _results(await self._core.publish_batch(event, list(payloads)))

    async def publish_stream(self, event: str) -> AsyncPublishStream:
        return AsyncPublishStream(await self._core.publish_stream(event))

    async def get_topic(self, topic: str) -> TopicInfo:
        return TopicInfo(**(await self._core.get_topic(topic)))

    async def get_schema(self, schema_id: str) -> SchemaInfo:
        schema_id, schema_json = await self._core.get_schema(schema_id)
        return SchemaInfo(schema_id, schema_json)

    async def event_schema(self, event_or_schema_id: str, *, compact: bool = False) -> dict[str, Any]:
        return await self._core.event_schema(event_or_schema_id, compact=compact)
