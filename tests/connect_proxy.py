"""A loopback HTTP CONNECT proxy for tests: it tunnels bytes and counts the tunnels it opened by
target, so a test can tell which traffic went through it."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from collections import Counter


class ConnectProxy:
    """Serves on 127.0.0.1 until :meth:`close`. With ``credentials`` (``user:password``) it
    answers 407 to a CONNECT without the matching ``Proxy-Authorization``."""

    def __init__(self, credentials: str | None = None) -> None:
        self.tunnels: Counter[str] = Counter()
        self.refused = 0
        self._credentials = credentials
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        self._acceptor.join()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        with self._server:
            while not self._closed.is_set():
                try:
                    client, _ = self._server.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                threading.Thread(target=self._serve_and_close, args=(client,), daemon=True).start()

    def _serve_and_close(self, client: socket.socket) -> None:
        with client:
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if self._credentials is not None:
            expected = "Basic " + base64.b64encode(self._credentials.encode()).decode()
            if headers.get("proxy-authorization") != expected:
                with self._lock:
                    self.refused += 1
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)))
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            with self._lock:
                self.tunnels[target] += 1
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copies until either side ends, then ends both, so the other direction stops too."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
