"""The emulator answers as Salesforce does where clients depend on the bytes: header names
spelled as Salesforce spells them on HTTP/1.1 (``Sforce-NumberOfRecords``, ``ETag``), gzip when
asked (REST and Bulk results), and upserts keyed by the record id."""

from __future__ import annotations

import gzip
import json
import socket
import time
from urllib.parse import quote, urlsplit

from forcelink_emulator import Emulator

from .conftest import API, call, call_json


def raw_head(org: Emulator, path: str) -> bytes:
    """The response head of a GET over a plain HTTP/1.1 socket, byte for byte."""
    url = urlsplit(org.instance_url)
    assert url.hostname is not None and url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {org.access_token}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def completed_query_job(org: Emulator, soql: str) -> str:
    status, job = call_json(org, "POST", f"{API}/jobs/query", {"operation": "query", "query": soql})
    assert status == 200, job
    job_id: str = job["id"]
    for _ in range(500):
        if call_json(org, "GET", f"{API}/jobs/query/{job_id}")[1]["state"] == "JobComplete":
            return job_id
        time.sleep(0.01)
    raise AssertionError("the query job did not complete")


def test_http1_header_names_are_spelled_as_salesforce_spells_them(sf_emulator: Emulator) -> None:
    org = sf_emulator
    org.seed_records("Account", [{"Name": "A"}, {"Name": "B"}])
    job_id = completed_query_job(org, "SELECT Id, Name FROM Account")
    head = raw_head(org, f"{API}/jobs/query/{job_id}/results?maxRecords=1")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n")[1:] if line]
    for name in (b"Content-Type", b"Sforce-NumberOfRecords", b"Sforce-Locator", b"Sforce-Limit-Info"):
        assert name in names, (name, names)
    assert b"\r\nSforce-NumberOfRecords: 1\r\n" in head
    assert b"\r\nContent-Type: text/csv\r\n" in head
    assert all(n[:1].isupper() for n in names), names

    rest = raw_head(org, f"{API}/limits")
    assert b"\r\nContent-Type: application/json" in rest
    assert b"\r\nSforce-Limit-Info: api-usage=" in rest

    status, created = call_json(org, "POST", f"{API}/sobjects/Account", {"Name": "Tagged"})
    assert status == 201
    record = raw_head(org, f"{API}/sobjects/Account/{created['id']}")
    assert b'\r\nETag: "' in record and b"\r\nLast-Modified: " in record, record


def test_answers_are_gzip_compressed_when_asked(sf_emulator: Emulator) -> None:
    org = sf_emulator
    org.seed_records("Account", ({"Name": f"Zip {i}"} for i in range(200)))
    status, headers, body = call(
        org,
        "GET",
        f"{API}/query?q=" + quote("SELECT Id, Name FROM Account"),
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["totalSize"] == 200

    status, headers, body = call(org, "GET", f"{API}/query?q=" + quote("SELECT Id FROM Account"))
    assert "Content-Encoding" not in headers and json.loads(body)["totalSize"] == 200

    job_id = completed_query_job(org, "SELECT Id, Name FROM Account")
    status, headers, body = call(
        org, "GET", f"{API}/jobs/query/{job_id}/results", headers={"Accept-Encoding": "gzip"}
    )
    assert headers.get("Content-Encoding") == "gzip" and headers["Sforce-NumberOfRecords"] == "200"
    assert gzip.decompress(body).count(b"\n") == 201
    assert org.stats()["gzip_answers"] == 2


def test_upsert_keyed_by_id_updates_or_is_not_found(sf_emulator: Emulator) -> None:
    org = sf_emulator
    status, record = call_json(org, "POST", f"{API}/sobjects/Account", {"Name": "Before"})
    assert status == 201
    account_id = record["id"]
    status, body = call_json(org, "PATCH", f"{API}/sobjects/Account/Id/{account_id}", {"Name": "After"})
    assert (status, body) == (200, {"id": account_id, "success": True, "errors": [], "created": False})
    assert call_json(org, "GET", f"{API}/sobjects/Account/{account_id}")[1]["Name"] == "After"

    status, body = call_json(org, "PATCH", f"{API}/sobjects/Account/Id/001000000000999AAA", {"Name": "Ghost"})
    assert status == 404 and body[0]["errorCode"] == "NOT_FOUND"
