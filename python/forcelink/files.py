"""Salesforce Files: upload a file as a ContentVersion, streamed from disk, and download a
version's data to disk as it arrives. Neither holds the file in memory."""

from __future__ import annotations

import os
from typing import Any

from ._core import FilesCore, SaveResult
from ._options import Headers, scoped
from ._twins import async_twin_of

__all__ = ["AsyncFiles", "Files"]


class Files:
    """Reached as ``sf.files``."""

    def __init__(self, core: FilesCore) -> None:
        self._core = core

    def upload(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> SaveResult:
        """Uploads the file at ``path`` as a new ContentVersion (a multipart request whose file
        part is read from disk as it is sent). ``fields`` are ContentVersion fields such as
        ``Title``, ``Description`` or ``FirstPublishLocationId`` (a record to share it with);
        ``Title`` and ``PathOnClient`` default to the file's name. Returns the version's id."""
        return scoped(self._core, timeout, headers).upload(path, fields).wait()

    def download(
        self,
        content_version_id: str,
        dest: str | os.PathLike[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        """Writes the ContentVersion's file (its ``VersionData``) to ``dest`` as it arrives;
        returns the number of bytes written."""
        return scoped(self._core, timeout, headers).download(content_version_id, dest).wait()


@async_twin_of(Files)
class AsyncFiles:
    def __init__(self, core: FilesCore) -> None:
        self._core = core

    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> SaveResult:
        return await scoped(self._core, timeout, headers).upload(path, fields)

    async def download(
        self,
        content_version_id: str,
        dest: str | os.PathLike[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        return await scoped(self._core, timeout, headers).download(content_version_id, dest)
