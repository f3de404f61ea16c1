"""The official Pub/Sub sample's pattern, as a peer to check against and to benchmark: stubs
generated with grpcio-tools from protos/pubsub_api.proto, a FetchRequest generator paced by a
semaphore, and payloads decoded with fastavro (or, like the sample, with the pure-Python avro
package)."""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forcelink.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
# The published contract when it is at hand (an optional cross-check), else our copy of it.
REFERENCE = ROOT.parent / "shared" / "reference"


def proto_dir() -> Path:
    return REFERENCE if (REFERENCE / "pubsub_api.proto").exists() else ROOT / "protos"


def load_stubs(out_dir: Path) -> tuple[ModuleType, ModuleType]:
    """Compiles the Pub/Sub proto with grpcio-tools into ``out_dir`` and imports the modules."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    source = proto_dir()
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{source}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(source / "pubsub_api.proto"),
        ]
    )
    if code != 0:
        raise RuntimeError(f"grpc_tools.protoc failed with {code}")
    sys.path.insert(0, str(out_dir))
    try:
        pb2 = importlib.import_module("pubsub_api_pb2")
        pb2_grpc = importlib.import_module("pubsub_api_pb2_grpc")
    finally:
        sys.path.remove(str(out_dir))
    return pb2, pb2_grpc


class GrpcioSubscriber:
    """Subscribes the way the official Python sample does."""

    def __init__(
        self,
        pb2: ModuleType,
        pb2_grpc: ModuleType,
        endpoint: str,
        *,
        token: str,
        instance_url: str,
        tenant_id: str,
        ca_pem: bytes | None = None,
        decoder: str = "fastavro",
    ) -> None:
        import grpc  # type: ignore[import-untyped]

        self.pb2 = pb2
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if ca_pem is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
            self.channel = grpc.secure_channel(endpoint, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(endpoint, options=options)
        self.stub = pb2_grpc.PubSubStub(self.channel)
        self.metadata = (("accesstoken", token), ("instanceurl", instance_url), ("tenantid", tenant_id))
        self.decoder = decoder
        self.schema_json: dict[str, str] = {}
        self.parsed: dict[str, Any] = {}

    @classmethod
    def for_emulator(cls, pb2: ModuleType, pb2_grpc: ModuleType, org: Emulator) -> GrpcioSubscriber:
        """A subscriber to ``org``'s Pub/Sub endpoint with its token, ids and CA."""
        return cls(
            pb2,
            pb2_grpc,
            org.pubsub_endpoint,
            token=org.access_token,
            instance_url=org.instance_url,
            tenant_id=org.org_id,
            ca_pem=Path(org.ca_cert_path or "").read_bytes(),
        )

    def get_schema_json(self, schema_id: str) -> str:
        if schema_id not in self.schema_json:
            info = self.stub.GetSchema(self.pb2.SchemaRequest(schema_id=schema_id), metadata=self.metadata)
            self.schema_json[schema_id] = info.schema_json
        return self.schema_json[schema_id]

    def decode(self, schema_id: str, payload: bytes) -> dict[str, Any]:
        if self.decoder == "fastavro":
            import fastavro

            if schema_id not in self.parsed:
                self.parsed[schema_id] = fastavro.parse_schema(json.loads(self.get_schema_json(schema_id)))
            return fastavro.schemaless_reader(io.BytesIO(payload), self.parsed[schema_id])  # type: ignore[no-any-return]
        # The official sample parses the schema JSON for every event with the avro package.
        import avro.io  # type: ignore[import-untyped]
        import avro.schema  # type: ignore[import-untyped]

        schema = avro.schema.parse(self.get_schema_json(schema_id))
        reader = avro.io.DatumReader(schema)
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(payload)))  # type: ignore[no-any-return]

    def subscribe(
        self, topic: str, count: int, *, replay: str = "EARLIEST", batch: int = 100
    ) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Yields (replay id, decoded payload) for ``count`` events."""
        semaphore = threading.Semaphore(1)
        preset = getattr(self.pb2, replay)

        def requests() -> Iterator[Any]:
            while True:
                semaphore.acquire()
                yield self.pb2.FetchRequest(topic_name=topic, replay_preset=preset, num_requested=batch)

        seen = 0
        pending = 0
        stream = self.stub.Subscribe(requests(), metadata=self.metadata)
        try:
            for response in stream:
                pending = response.pending_num_requested
                if pending == 0:
                    semaphore.release()
                for event in response.events:
                    yield event.replay_id, self.decode(event.event.schema_id, event.event.payload)
                    seen += 1
                    if seen >= count:
                        return
        finally:
            stream.cancel()

    def close(self) -> None:
        self.channel.close()
