"""Subscriptions under the conditions that broke them: idle streams (no CPU), a backlog behind a
managed subscription that commits as it goes, an event the client cannot decode among good
ones, a managed loop left by ``break``, oversize events, and batches over the 200-event limit."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pytest

from forcelink import EventDecodeError, Salesforce, SalesforceError
from forcelink.events import Event
from forcelink.testing import Emulator

from ..pubsub_peer import GrpcioSubscriber, load_stubs
from .test_events import ORDER_FIELDS, numbers, publish_orders


@pytest.fixture
def events_org() -> Iterator[Emulator]:
    with Emulator(tls=True) as org:
        org.define_event("Order__e", ORDER_FIELDS)
        yield org


def finishes_within(seconds: float, work: Callable[[], None]) -> bool:
    """Runs ``work`` on a daemon thread; False when it is still running after ``seconds`` (a
    hang must fail the test, not stall the run)."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    return not thread.is_alive()


def test_idle_subscriptions_use_almost_no_cpu(events_org: Emulator) -> None:
    sf = events_org.client()
    subs = [sf.events.subscribe("/event/Order__e") for _ in range(3)]
    try:
        time.sleep(0.5)  # streams open, first requests answered
        cpu_before = time.process_time()
        time.sleep(5.0)
        used = time.process_time() - cpu_before
    finally:
        for sub in subs:
            sub.close()
    # A spinning runner burns about a core per subscription: ~15 s here.
    assert used < 0.2, f"three idle subscriptions used {used:.2f} s of CPU in 5 s"


def test_a_managed_subscription_drains_a_backlog_while_committing(events_org: Emulator) -> None:
    sf = events_org.client()
    events_org.define_managed_subscription("Backlog", "/event/Order__e", replay="earliest")
    publish_orders(sf, 0, 1_000)
    seen: list[str] = []

    def consume() -> None:
        with sf.events.managed_subscribe("Backlog", batch_size=10) as sub:
            for event in sub:
                seen.append(event.payload["Order_Number__c"])
                if len(seen) == 1_000:
                    break

    assert finishes_within(30, consume), f"stuck after {len(seen)} of 1,000 events"
    assert seen == [f"O-{i}" for i in range(1_000)]
    with events_org.client().events.managed_subscribe("Backlog") as again:
        publish_orders(sf, 1_000, 1_001)
        first = next(iter(again))
    assert first.payload["Order_Number__c"] == "O-1000"


def test_closing_a_backed_up_managed_subscription_from_another_thread(events_org: Emulator) -> None:
    sf = events_org.client()
    events_org.define_managed_subscription("Closing", "/event/Order__e", replay="earliest")
    publish_orders(sf, 0, 1_000)
    sub = sf.events.managed_subscribe("Closing", batch_size=100)
    got: list[str] = []
    started = threading.Event()

    failures: list[BaseException] = []

    def consume() -> None:
        try:
            for event in sub:
                got.append(event.payload["Order_Number__c"])
                started.set()
                time.sleep(0.001)
        except BaseException as e:
            failures.append(e)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    assert started.wait(10)
    time.sleep(0.3)  # let the queue fill behind the slow loop
    assert finishes_within(10, sub.close), "close() from another thread hung"
    consumer.join(timeout=10)
    assert not consumer.is_alive()
    assert failures == []
    assert got == [f"O-{i}" for i in range(len(got))]


def test_async_managed_subscription_drains_a_backlog(events_org: Emulator) -> None:
    events_org.define_managed_subscription("AsyncBacklog", "/event/Order__e", replay="earliest")
    publish_orders(events_org.client(), 0, 500)

    async def run() -> list[str]:
        asf = events_org.async_client()
        out: list[str] = []
        async with asf.events.managed_subscribe("AsyncBacklog", batch_size=10) as sub:
            async for event in sub:
                out.append(event.payload["Order_Number__c"])
                if len(out) == 500:
                    break
        return out

    assert asyncio.run(asyncio.wait_for(run(), timeout=30)) == [f"O-{i}" for i in range(500)]


def test_break_then_close_commits_the_event_in_hand(events_org: Emulator) -> None:
    sf = events_org.client()
    events_org.define_managed_subscription("BreakClose", "/event/Order__e", replay="earliest")
    publish_orders(sf, 0, 30)
    sub = sf.events.managed_subscribe("BreakClose", batch_size=10)
    handled: list[str] = []
    for event in sub:
        handled.append(event.payload["Order_Number__c"])
        if len(handled) == 15:
            break
    sub.close()
    with events_org.client().events.managed_subscribe("BreakClose", batch_size=10) as again:
        rest = [e.payload["Order_Number__c"] for e in islice(again, 15)]
    assert handled[-1] == "O-14"
    assert rest == [f"O-{i}" for i in range(15, 30)]


def test_an_exception_in_the_loop_does_not_commit_the_event_in_hand(events_org: Emulator) -> None:
    sf = events_org.client()
    events_org.define_managed_subscription("Failing", "/event/Order__e", replay="earliest")
    publish_orders(sf, 0, 20)

    def handle_until_failure() -> None:
        with sf.events.managed_subscribe("Failing", batch_size=10) as sub:
            for event in sub:
                if event.payload["Order_Number__c"] == "O-12":
                    raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        handle_until_failure()
    with events_org.client().events.managed_subscribe("Failing", batch_size=10) as again:
        first = next(iter(again))
    assert first.payload["Order_Number__c"] == "O-12"


def publish_raw(org: Emulator, tmp_path: Path, payloads: list[bytes]) -> None:
    """Publishes payload bytes as they are, the way another producer could (Pub/Sub does not
    check that a payload is exactly one Avro datum)."""
    pb2, pb2_grpc = load_stubs(tmp_path)
    peer = GrpcioSubscriber.for_emulator(pb2, pb2_grpc, org)
    try:
        topic = peer.stub.GetTopic(pb2.TopicRequest(topic_name="/event/Order__e"), metadata=peer.metadata)
        events = [
            pb2.ProducerEvent(id=f"raw-{i}", schema_id=topic.schema_id, payload=p)
            for i, p in enumerate(payloads)
        ]
        answer = peer.stub.Publish(
            pb2.PublishRequest(topic_name="/event/Order__e", events=events), metadata=peer.metadata
        )
        assert [r.error.msg for r in answer.results] == [""] * len(payloads)
    finally:
        peer.close()


def encoded_orders(sf: Salesforce, org: Emulator, count: int) -> tuple[str, list[bytes]]:
    import fastavro

    schema_id = sf.events.get_topic("/event/Order__e").schema_id
    schema = fastavro.parse_schema(json.loads(sf.events.get_schema(schema_id).schema_json))
    out = []
    for i in range(count):
        buf = io.BytesIO()
        record = {"CreatedDate": 0, "CreatedById": org.user_id, "Order_Number__c": f"R-{i}"}
        fastavro.schemaless_writer(buf, schema, {**record, "Amount__c": None, "Rush__c": None})
        out.append(buf.getvalue())
    return schema_id, out


def test_an_undecodable_event_does_not_lose_its_batch(events_org: Emulator, tmp_path: Path) -> None:
    sf = events_org.client()
    schema_id, payloads = encoded_orders(sf, events_org, 5)
    payloads[2] += b"\x00"  # one trailing byte: not exactly one datum
    publish_raw(events_org, tmp_path, payloads)
    with sf.events.subscribe("/event/Order__e", replay="earliest") as sub:
        got = list(islice(sub, 5))
        publish_orders(sf, 0, 1)
        after = next(iter(sub))
    events = got
    assert len(events) == 5
    good = [e for i, e in enumerate(events) if i != 2]
    assert [e.payload["Order_Number__c"] for e in good] == ["R-0", "R-1", "R-3", "R-4"]
    assert all(e.decode_error is None for e in good)
    bad = events[2]
    with pytest.raises(EventDecodeError) as raised:
        _ = bad.payload
    error = raised.value
    assert isinstance(error, ValueError)
    assert error is bad.decode_error
    assert error.replay_id == bad.replay_id
    assert events[1].replay_id < bad.replay_id < events[3].replay_id
    assert error.schema_id == schema_id
    assert error.raw == payloads[2] and bad.raw == payloads[2]
    assert error.event_id == "raw-2"
    # The subscription goes on past it.
    assert after.payload["Order_Number__c"] == "O-0"


def test_oversize_events_are_refused_over_rest_and_grpc(events_org: Emulator) -> None:
    sf = events_org.client()
    big = "x" * 1_100_000
    with pytest.raises(SalesforceError) as raised:
        sf.events.publish("Order__e", {"Order_Number__c": big})
    assert raised.value.status == 400
    assert raised.value.error_code == "PAYLOAD_SIZE_EXCEEDED"
    assert "exceeds the maximum allowed size of 1048576 bytes" in raised.value.message
    results = sf.events.publish_batch("Order__e", [{"Order_Number__c": "ok-1"}, {"Order_Number__c": big}])
    assert results[0].ok
    assert results[1].error is not None and "1048576 bytes" in results[1].error
    sf.events.publish("Order__e", {"Order_Number__c": "x" * 900_000})  # under the limit
    with sf.events.subscribe("/event/Order__e", replay="earliest") as sub:
        got = list(islice(sub, 2))
    assert [len(e.payload["Order_Number__c"]) for e in got] == [4, 900_000]


def test_publish_batch_splits_past_200_events_in_order(events_org: Emulator) -> None:
    sf = events_org.client()
    payloads = [{"Order_Number__c": f"B-{i}"} for i in range(450)]
    results = sf.events.publish_batch("Order__e", payloads)
    assert len(results) == 450 and all(r.ok for r in results)
    replay_ids = [r.replay_id for r in results]
    assert replay_ids == sorted(replay_ids)  # type: ignore[type-var]
    assert events_org.stats()["events"]["publish_requests"] == 3  # 200 + 200 + 50
    with sf.events.subscribe("/event/Order__e", replay="earliest") as sub:
        got: list[Event] = list(islice(sub, 450))
    assert numbers(got) == [f"B-{i}" for i in range(450)]
    assert [e.replay_id for e in got] == replay_ids
