"""Salesforce Files through sf.files, sync and async: a ContentVersion uploaded from disk and
downloaded to disk byte for byte; a 200 MB file uploads and downloads in flat memory."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from forcelink import InvalidArgumentError, NotFoundError
from forcelink.testing import Emulator


def test_upload_then_download_byte_for_byte(sf_emulator: Emulator, tmp_path: Path) -> None:
    sf = sf_emulator.client()
    account = sf.sobjects.create("Account", {"Name": "With a file"}).id
    source = tmp_path / "report.pdf"
    payload = bytes(range(256)) * 4000 + b"\r\n--not-a-boundary--\r\n"
    source.write_bytes(payload)
    saved = sf.files.upload(source, Description="Q3", FirstPublishLocationId=account)
    assert saved.success and saved.id.startswith("068")
    record = sf.sobjects.get("ContentVersion", saved.id)
    assert (record["Title"], record["PathOnClient"], record["ContentSize"]) == (
        "report.pdf",
        "report.pdf",
        len(payload),
    )
    assert record["Description"] == "Q3" and record["FirstPublishLocationId"] == account
    dest = tmp_path / "back.pdf"
    assert sf.files.download(saved.id, dest) == len(payload)
    assert dest.read_bytes() == payload
    titled = sf.files.upload(source, Title="Quarterly report")
    assert sf.sobjects.get("ContentVersion", titled.id)["Title"] == "Quarterly report"


def test_errors_are_typed(sf_emulator: Emulator, tmp_path: Path) -> None:
    sf = sf_emulator.client()
    with pytest.raises(InvalidArgumentError):
        sf.files.upload(tmp_path / "missing.bin")
    with pytest.raises(InvalidArgumentError):
        sf.files.upload(tmp_path)  # a directory
    with pytest.raises(NotFoundError):
        sf.files.download("068000000000000AAA", tmp_path / "x")
    with pytest.raises(InvalidArgumentError):
        sf.files.download("not-an-id", tmp_path / "x")


async def test_the_async_twin(sf_emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("hello files")
    sf = sf_emulator.async_client()
    saved = await sf.files.upload(source)
    assert await sf.files.download(saved.id, tmp_path / "b.txt") == 11
    assert (tmp_path / "b.txt").read_text() == "hello files"


FLAT_MEMORY = textwrap.dedent(
    """
    import hashlib, os, resource, sys
    from forcelink_emulator import Emulator

    path, back = sys.argv[1], sys.argv[2]
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with Emulator() as org:
        sf = org.client()
        sf.sobjects.describe("Account")  # warm up: pools, runtime, schema
        before = peak()
        saved = sf.files.upload(path)
        written = sf.files.download(saved.id, back)
        print(written, before, peak())
    """
)


def test_a_200_mb_file_moves_in_flat_memory(tmp_path: Path) -> None:
    size = 200 * 1024 * 1024
    source, back = tmp_path / "big.bin", tmp_path / "back.bin"
    block = hashlib.sha256(b"forcelink").digest() * (1024 * 1024 // 32)
    with source.open("wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
    done = subprocess.run(
        [sys.executable, "-c", FLAT_MEMORY, str(source), str(back)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    written, before_mb, after_mb = (int(x) for x in done.stdout.split())
    assert written == size and back.stat().st_size == size
    # The file went through the client and the in-process org without being held: the peak
    # grew by a few buffers, not by the file's 200 MB.
    assert after_mb - before_mb < 64, (before_mb, after_mb)
    print(f"\n200 MB upload and download: peak RSS {before_mb} MB -> {after_mb} MB")
