"""Platform events, Change Data Capture and the Pub/Sub API through the public Python API
against the emulator's gRPC server: order, exactly-once delivery across dropped streams,
replay ids, bitmaps, managed subscriptions, publishing three ways, and a grpcio + fastavro
subscriber (the official sample's pattern) reading the same events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forcelink import (
    AsyncSalesforce,
    InvalidArgumentError,
    InvalidFieldError,
    NotFoundError,
    PubSubError,
    ReplayIdError,
    Salesforce,
)
from forcelink.cli import main as forcelink
from forcelink.events import ChangeEvent, Event, Subscription
from forcelink.testing import Emulator

from ..pubsub_peer import GrpcioSubscriber, load_stubs

ORDER_FIELDS = {"Order_Number__c": "text", "Amount__c": "number", "Rush__c": "boolean"}


@pytest.fixture
def events_org() -> Iterator[Emulator]:
    with Emulator(tls=True) as org:
        org.define_event("Order__e", ORDER_FIELDS)
        yield org


def publish_orders(sf: Salesforce, start: int, stop: int) -> None:
    payloads = [{"Order_Number__c": f"O-{i}", "Amount__c": float(i)} for i in range(start, stop)]
    for i in range(0, len(payloads), 200):
        results = sf.events.publish_batch("Order__e", payloads[i : i + 200])
        assert all(r.ok and r.replay_id is not None for r in results)


def take(sub: Subscription, n: int) -> list[Event]:
    out: list[Event] = []
    for event in sub:
        out.append(event)
        if len(out) == n:
            break
    return out


def numbers(events: list[Event]) -> list[str]:
    return [e.payload["Order_Number__c"] for e in events]


def test_5000_events_from_earliest_arrive_in_order_each_once(events_org: Emulator) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 5_000)
    with sf.events.subscribe("/event/Order__e", replay="earliest", batch_size=100) as sub:
        events = take(sub, 5_000)
    assert numbers(events) == [f"O-{i}" for i in range(5_000)]
    ids = [e.replay_id_int for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 5_000
    assert all(len(e.replay_id) == 8 for e in events)
    assert events[0].payload["Amount__c"] == 0.0 and events[0].payload["Rush__c"] is None
    assert events[0].payload["CreatedById"] == events_org.user_id


def test_resuming_from_a_stored_replay_id_starts_right_after_it(events_org: Emulator) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 300)
    with sf.events.subscribe("/event/Order__e", replay="earliest") as sub:
        first = take(sub, 120)
    stored = first[-1].replay_id
    with sf.events.subscribe("/event/Order__e", replay=stored) as sub:
        rest = take(sub, 180)
    assert numbers(rest) == [f"O-{i}" for i in range(120, 300)]
    # An int works as well as the bytes.
    with sf.events.subscribe("/event/Order__e", replay=first[9].replay_id_int) as sub:
        assert numbers(take(sub, 1)) == ["O-10"]


def test_dropped_streams_still_deliver_all_5000_exactly_once(events_org: Emulator) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 5_000)
    events_org.drop_streams_after(700)
    with sf.events.subscribe("/event/Order__e", replay="earliest", batch_size=100) as sub:
        events = take(sub, 5_000)
    assert numbers(events) == [f"O-{i}" for i in range(5_000)]
    stats = events_org.stats()["events"]
    assert stats["streams_dropped"] == 7  # after 700, 1400, ... 4900 events
    assert stats["streams_opened"] == 8


def test_an_update_of_a_field_and_an_address_part_decodes_to_those_names(events_org: Emulator) -> None:
    sf = events_org.client()
    account = sf.sobjects.create("Account", {"Name": "Acme", "BillingCity": "Lyon", "Phone": "1"})
    sf.sobjects.update("Account", account.id, {"Phone": None, "BillingCity": "Paris"})
    with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest") as sub:
        create, update = take(sub, 2)
    assert isinstance(create, ChangeEvent) and isinstance(update, ChangeEvent)
    assert create.header.change_type == "CREATE" and create.changed_fields == []
    assert create.payload["Name"] == "Acme" and create.payload["BillingAddress"]["City"] == "Lyon"
    header = update.header
    assert header.change_type == "UPDATE"
    assert header.entity_name == "Account"
    assert header.record_ids == [account.id]
    assert header.commit_user == events_org.user_id
    assert header.change_origin.startswith("com/salesforce/api/rest/")
    assert header.sequence_number == 1 and len(header.transaction_key) == 36
    # Salesforce lists LastModifiedDate with every update's changed fields.
    assert sorted(update.changed_fields) == ["BillingAddress.City", "LastModifiedDate", "Phone"]
    assert update.nulled_fields == ["Phone"]
    assert update.payload["BillingAddress"]["City"] == "Paris"
    assert update.payload["Name"] is None  # unchanged fields are null in an update
    raw = update.payload["ChangeEventHeader"]["changedFields"]
    assert raw[0].startswith("0x") and any("-0x" in element for element in raw)


def test_change_events_come_from_composite_and_bulk_too(events_org: Emulator) -> None:
    sf = events_org.client()
    sf.composite.collections.create(
        [{"attributes": {"type": "Contact"}, "LastName": f"C{i}"} for i in range(3)]
    )
    result = sf.bulk.insert("Contact", [{"LastName": f"B{i}"} for i in range(5)])
    assert result.records_processed == 5
    with sf.events.subscribe("/data/ChangeEvents", replay="earliest") as sub:
        events = take(sub, 8)
    assert [e.header.change_type for e in events if isinstance(e, ChangeEvent)] == ["CREATE"] * 8
    origins = [e.header.change_origin.split("/")[3] for e in events if isinstance(e, ChangeEvent)]
    assert origins == ["rest"] * 3 + ["bulkapi"] * 5
    bulk_keys = {e.header.transaction_key for e in events[3:] if isinstance(e, ChangeEvent)}
    assert len(bulk_keys) == 1  # one batch, one transaction
    assert [e.header.sequence_number for e in events[3:] if isinstance(e, ChangeEvent)] == [1, 2, 3, 4, 5]
    # A bulk insert's events are encoded from their records on delivery: each carries its record.
    ids = [r["sf__Id"] for r in result.successful_records()]
    bulk = [e for e in events[3:] if isinstance(e, ChangeEvent)]
    assert [e.header.record_ids for e in bulk] == [[i] for i in ids]
    assert [e.payload["LastName"] for e in bulk] == [f"B{i}" for i in range(5)]
    for e in bulk:
        stored = sf.sobjects.get("Contact", e.header.record_ids[0])
        assert e.payload["OwnerId"] == e.payload["CreatedById"] == stored["OwnerId"]
        assert isinstance(e.payload["CreatedDate"], int) and e.payload["CreatedDate"] > 0
        assert e.payload["FirstName"] is None and "Id" not in e.payload


def test_a_bulk_insert_s_create_events_keep_the_records_as_created(events_org: Emulator) -> None:
    # Those events are encoded from the records when delivered, so a record changed or removed
    # after its insert must still show its values as created.
    sf = events_org.client()
    names = ["Kept", "Renamed", "Deleted", "Gone"]
    result = sf.bulk.insert("Account", [{"Name": n, "Phone": "1"} for n in names])
    ids = [r["sf__Id"] for r in result.successful_records()]
    sf.sobjects.update("Account", ids[1], {"Name": "New name", "Phone": None})
    sf.sobjects.delete("Account", ids[2])
    assert sf.bulk.hard_delete("Account", [{"Id": ids[3]}]).records_processed == 1
    with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest") as sub:
        events = take(sub, 7)
    changes = [e for e in events if isinstance(e, ChangeEvent)]
    assert [e.header.change_type for e in changes] == ["CREATE"] * 4 + ["UPDATE", "DELETE", "DELETE"]
    assert [e.header.record_ids for e in changes] == [[i] for i in ids] + [[ids[1]], [ids[2]], [ids[3]]]
    assert [e.payload["Name"] for e in changes[:4]] == names
    assert [e.payload["Phone"] for e in changes[:4]] == ["1"] * 4
    assert changes[4].payload["Name"] == "New name" and changes[4].nulled_fields == ["Phone"]
    # Delivered again, from the start: the same bytes.
    with sf.events.subscribe("/data/AccountChangeEvent", replay="earliest") as sub:
        again = [e for e in take(sub, 7) if isinstance(e, ChangeEvent)]
    assert [e.payload for e in again] == [e.payload for e in changes]


def test_invalid_replay_ids_raise_a_typed_error(events_org: Emulator) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 10)
    latest = events_org.latest_replay_id
    with (
        pytest.raises(ReplayIdError) as caught,
        sf.events.subscribe("/event/Order__e", replay=latest + 500) as sub,
    ):
        take(sub, 1)
    assert caught.value.error_code == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    assert caught.value.grpc_status == "INVALID_ARGUMENT"
    events_org.expire_events_before(latest)
    with pytest.raises(ReplayIdError), sf.events.subscribe("/event/Order__e", replay=1) as sub:
        take(sub, 1)
    with pytest.raises(ReplayIdError):
        sf.events.subscribe("/event/Order__e", replay=b"\x01\x02")
    with pytest.raises(ValueError, match="replay must be"):
        sf.events.subscribe("/event/Order__e", replay="newest")


def test_bad_topics_and_payloads_are_refused(events_org: Emulator) -> None:
    sf = events_org.client()
    with pytest.raises(InvalidArgumentError):
        sf.events.subscribe("Order__e")
    with pytest.raises(ValueError, match="batch_size"):
        sf.events.subscribe("/event/Order__e", batch_size=500)
    with pytest.raises(PubSubError) as caught, sf.events.subscribe("/event/Nope__e") as sub:
        take(sub, 1)
    assert caught.value.grpc_status == "NOT_FOUND"
    assert caught.value.rpc_id
    with pytest.raises(InvalidArgumentError):
        sf.events.publish_batch("Order__e", [{"Unknown__c": 1}])
    with pytest.raises(InvalidFieldError):
        sf.events.publish("Order__e", {"Unknown__c": 1})
    with pytest.raises(InvalidArgumentError):  # change events cannot be published
        sf.events.publish_batch("/data/AccountChangeEvent", [{}])
    topic = sf.events.get_topic("/data/AccountChangeEvent")
    assert not topic.can_publish and topic.can_subscribe
    assert "ChangeEventHeader" in sf.events.get_schema(topic.schema_id).schema_json


def test_a_bad_token_is_refused_and_an_expired_one_renewed(events_org: Emulator) -> None:
    bad = (
        Salesforce.builder()
        .instance_url(events_org.instance_url)
        .access_token("00D000000000001!nope")
        .pubsub_endpoint(events_org.pubsub_url)
        .ca_cert_file(events_org.ca_cert_path or "")
        .build()
    )
    with pytest.raises(PubSubError) as caught:
        bad.events.get_topic("/event/Order__e")
    assert caught.value.error_code == "sfdc.platform.eventbus.grpc.service.auth.error"
    events_org.create_connected_app("cc-app", client_secret="s3cret")
    sf = (
        Salesforce.builder()
        .instance_url(events_org.instance_url)
        .client_credentials("cc-app", "s3cret")
        .pubsub_endpoint(events_org.pubsub_url)
        .ca_cert_file(events_org.ca_cert_path or "")
        .build()
    )
    publish_orders(sf, 0, 400)
    events_org.drop_streams_after(150)
    with sf.events.subscribe("/event/Order__e", replay="earliest", batch_size=50) as sub:
        got = take(sub, 100)
        events_org.expire_sessions()
        got += take(sub, 300)
    assert numbers(got) == [f"O-{i}" for i in range(400)]
    assert events_org.stats()["token_grants"]["client_credentials"] == 2


def test_managed_subscription_resumes_from_its_committed_position(events_org: Emulator) -> None:
    sf = events_org.client()
    sub_id = events_org.define_managed_subscription("Orders_Sub", "/event/Order__e", replay="earliest")
    assert sub_id.startswith("18x")
    publish_orders(sf, 0, 250)
    handled: list[str] = []
    with sf.events.managed_subscribe("Orders_Sub", batch_size=50) as sub:
        for event in sub:
            handled.append(event.payload["Order_Number__c"])
            if len(handled) == 100:
                break  # the 100th was handled: close() commits it
    # A restart (a new client) resumes after the committed position.
    with events_org.client().events.managed_subscribe(sub_id, batch_size=50) as again:
        rest = take(again, 150)
    assert numbers(rest) == [f"O-{i}" for i in range(100, 250)]


def test_rest_publish_inside_composite_and_publish_stream(events_org: Emulator) -> None:
    sf = events_org.client()
    published = sf.events.publish("Order__e", {"Order_Number__c": "R-1", "Rush__c": True})
    assert published.id.startswith("e01") and len(published.event_uuid) == 36
    answer = sf.composite.execute(
        [
            {
                "method": "POST",
                "url": f"/services/data/v{sf.api_version}/sobjects/Order__e",
                "referenceId": "ev",
                "body": {"Order_Number__c": "C-1"},
            }
        ]
    )
    body = answer[0].body
    assert body["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    stream = sf.events.publish_stream("Order__e")
    results = stream.publish([{"Order_Number__c": "S-1"}, {"Order_Number__c": "S-2"}])
    assert [r.ok for r in results] == [True, True]
    with sf.events.subscribe("/event/Order__e", replay="earliest") as sub:
        got = take(sub, 4)
    assert numbers(got) == ["R-1", "C-1", "S-1", "S-2"]
    assert got[0].event_id == published.event_uuid
    assert got[0].payload["Rush__c"] is True


def test_async_subscription_reads_the_same_events(events_org: Emulator) -> None:
    publish_orders(events_org.client(), 0, 600)

    async def run() -> list[str]:
        asf: AsyncSalesforce = events_org.async_client()
        out: list[str] = []
        async with asf.events.subscribe("/event/Order__e", replay="earliest", batch_size=100) as sub:
            async for event in sub:
                out.append(event.payload["Order_Number__c"])
                if len(out) == 600:
                    break
        topic = await asf.events.get_topic("/event/Order__e")
        assert topic.can_publish
        results = await asf.events.publish_batch("Order__e", [{"Order_Number__c": "A-1"}])
        assert results[0].ok
        return out

    assert asyncio.run(run()) == [f"O-{i}" for i in range(600)]


def test_a_grpcio_fastavro_subscriber_reads_the_same_payloads(events_org: Emulator, tmp_path: Path) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 250)
    sf.sobjects.create("Account", {"Name": "Peer", "BillingCity": "Oslo", "NumberOfEmployees": 7})
    pb2, pb2_grpc = load_stubs(tmp_path)
    for topic, count in (("/event/Order__e", 250), ("/data/AccountChangeEvent", 1)):
        peer = GrpcioSubscriber.for_emulator(pb2, pb2_grpc, events_org)
        try:
            theirs = list(peer.subscribe(topic, count, batch=100))
        finally:
            peer.close()
        with sf.events.subscribe(topic, replay="earliest") as sub:
            ours = take(sub, count)
        assert [r for r, _ in theirs] == [e.replay_id for e in ours]
        assert [p for _, p in theirs] == [e.payload for e in ours]
    assert ours[0].payload["NumberOfEmployees"] == 7


def test_forcelink_subscribe_prints_json_lines(
    events_org: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sf = events_org.client()
    sf.sobjects.create("Account", {"Name": "Cli"})
    for key, value in {
        "SF_INSTANCE_URL": events_org.instance_url,
        "SF_ACCESS_TOKEN": events_org.access_token,
        "SF_CA_CERT_FILE": events_org.ca_cert_path or "",
        "SF_PUBSUB_ENDPOINT": events_org.pubsub_url,
    }.items():
        monkeypatch.setenv(key, value)
    assert (
        forcelink(["subscribe", "/data/AccountChangeEvent", "--replay", "earliest", "--max-events", "1"]) == 0
    )
    line = json.loads(capsys.readouterr().out.strip())
    assert line["header"]["change_type"] == "CREATE"
    assert line["payload"]["Name"] == "Cli"
    assert isinstance(line["replay_id"], int)


def test_the_wire_keepalives_idle_close_and_error_trailers(events_org: Emulator, tmp_path: Path) -> None:
    """Seen by a grpcio client: an empty FetchResponse with the latest replay id while credit is
    outstanding, the stream closed after an idle period without credit, and the error-code and
    rpc-id trailers of a refused call."""
    import grpc  # type: ignore[import-untyped]

    sf = events_org.client()
    publish_orders(sf, 0, 3)
    events_org.set_stream_timings(keepalive=0.2, idle_timeout=0.5)
    pb2, pb2_grpc = load_stubs(tmp_path)
    ca = Path(events_org.ca_cert_path or "").read_bytes()
    channel = grpc.secure_channel(
        events_org.pubsub_endpoint, grpc.ssl_channel_credentials(root_certificates=ca)
    )
    stub = pb2_grpc.PubSubStub(channel)
    metadata = (
        ("accesstoken", events_org.access_token),
        ("instanceurl", events_org.instance_url),
        ("tenantid", events_org.org_id),
    )
    latest = events_org.latest_replay_id.to_bytes(8, "big")
    # LATEST with credit and nothing new: keepalives carry the newest replay id.
    first = pb2.FetchRequest(topic_name="/event/Order__e", replay_preset=pb2.LATEST, num_requested=5)
    stream = stub.Subscribe(iter([first]), metadata=metadata)
    keepalive = next(stream)
    assert len(keepalive.events) == 0
    assert keepalive.latest_replay_id == latest
    assert keepalive.pending_num_requested == 5
    stream.cancel()
    # One event asked for and never more: the server ends the stream once idle.
    started = time.monotonic()
    one = pb2.FetchRequest(topic_name="/event/Order__e", replay_preset=pb2.EARLIEST, num_requested=1)
    responses = list(stub.Subscribe(iter([one]), metadata=metadata, timeout=10))
    assert [len(r.events) for r in responses] == [1]
    assert responses[0].pending_num_requested == 0
    assert time.monotonic() - started < 5
    # A refused call: status, error-code and rpc-id trailers.
    bad = (("accesstoken", "00Dxx!nope"), metadata[1], metadata[2])
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTopic(pb2.TopicRequest(topic_name="/event/Order__e"), metadata=bad)
    trailers = dict(caught.value.trailing_metadata())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
    assert trailers["rpc-id"] in caught.value.details()
    # CUSTOM without a replay id is refused as the service does.
    custom = pb2.FetchRequest(topic_name="/event/Order__e", replay_preset=pb2.CUSTOM, num_requested=1)
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Subscribe(iter([custom]), metadata=metadata, timeout=10))
    trailers = dict(caught.value.trailing_metadata())
    assert (
        trailers["error-code"] == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed"
    )
    channel.close()


def test_a_rolled_back_transaction_emits_no_events(events_org: Emulator) -> None:
    sf = events_org.client()
    base = f"/services/data/v{sf.api_version}/sobjects"
    answer = sf.composite.execute(
        [
            {"method": "POST", "url": f"{base}/Contact", "referenceId": "ok", "body": {"LastName": "Kept?"}},
            {
                "method": "POST",
                "url": f"{base}/Order__e",
                "referenceId": "ev",
                "body": {"Order_Number__c": "X"},
            },
            {
                "method": "POST",
                "url": f"{base}/Contact",
                "referenceId": "bad",
                "body": {"FirstName": "NoLast"},
            },
        ],
        all_or_none=True,
    )
    assert answer[2].status == 400 and not answer[0].ok  # all or none: the first was rolled back
    before = events_org.latest_replay_id
    assert before == 0  # neither the change event nor the platform event was published
    sf.sobjects.create("Contact", {"LastName": "Committed"})
    with sf.events.subscribe("/data/ChangeEvents", replay="earliest") as sub:
        (only,) = take(sub, 1)
    assert isinstance(only, ChangeEvent)
    assert only.payload["LastName"] == "Committed"
    assert events_org.stats()["events"]["topics"]["/event/Order__e"] == 0


def test_managed_subscriptions_have_distinct_ids(events_org: Emulator) -> None:
    first = events_org.define_managed_subscription("One", "/event/Order__e")
    second = events_org.define_managed_subscription("Two", "/event/Order__e")
    assert first != second and len(first) == 18
    with pytest.raises(ValueError, match="already exists"):
        events_org.define_managed_subscription("One", "/event/Order__e")


def test_closing_from_another_thread_ends_a_waiting_loop(events_org: Emulator) -> None:
    sf = events_org.client()
    publish_orders(sf, 0, 3)
    sub = sf.events.subscribe("/event/Order__e", replay="earliest")
    got: list[str] = []

    def consume() -> None:
        got.extend(e.payload["Order_Number__c"] for e in sub)

    thread = threading.Thread(target=consume)
    thread.start()
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sub.close()  # the consumer is blocked waiting for a fourth event
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert got == ["O-0", "O-1", "O-2"]


def test_a_slow_consumer_holds_back_the_stream(events_org: Emulator) -> None:
    """Flow control: while the consumer sits on its first event, the subscriber stops asking
    for more once its bounded queue is full, so the service sends a fraction of the backlog."""
    sf = events_org.client()
    publish_orders(sf, 0, 5_000)
    with sf.events.subscribe("/event/Order__e", replay="earliest", batch_size=100) as sub:
        events = iter(sub)
        first = next(events)
        time.sleep(1.0)
        sent_while_waiting = events_org.stats()["events"]["events_delivered"]
        rest = [next(events) for _ in range(4_999)]
    assert first.payload["Order_Number__c"] == "O-0"
    assert rest[-1].payload["Order_Number__c"] == "O-4999"
    # queue (4 batches) + the batch in hand + outstanding credit, far from all 5,000
    assert 100 <= sent_while_waiting <= 1_000


def test_event_schemas_over_rest(events_org: Emulator) -> None:
    sf = events_org.client()
    topic = sf.events.get_topic("/event/Order__e")
    compact = sf.events.event_schema("Order__e", compact=True)
    assert compact["uuid"] == topic.schema_id
    assert [f["name"] for f in compact["fields"]] == ["CreatedDate", "CreatedById", *ORDER_FIELDS]
    assert json.loads(sf.events.get_schema(topic.schema_id).schema_json)["fields"] == compact["fields"]
    expanded = sf.events.event_schema(topic.schema_id)
    assert expanded["type"] == "expanded-record" and expanded["name"] == "Order__e"
    data = expanded["fields"][0]["type"]["fields"]
    assert [f["name"] for f in data] == ["schema", "payload", "event"]
    assert [f["name"] for f in data[1]["type"]["fields"]][2:] == list(ORDER_FIELDS)
    with pytest.raises(InvalidArgumentError):
        sf.events.event_schema("not a name")
    with pytest.raises(NotFoundError):
        sf.events.event_schema("Unknown__e")
