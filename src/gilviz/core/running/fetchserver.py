"""A small HTTP server on 127.0.0.1 for the ``fetch`` workload: each reply waits a set
delay, then sends the number of bytes asked for (``?bytes=N``). It stands in for the seed's
remote URLs so the experiment needs no network and its latency is known.

It runs in the gilviz process (threads that mostly sleep), never in the measured runner.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from gilviz.core.errors import BadInput

MAX_BYTES = 64 << 20


class _Handler(BaseHTTPRequestHandler):
    server: FetchServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        query = parse_qs(urlparse(self.path).query)
        try:
            size = min(MAX_BYTES, max(0, int(query.get("bytes", ["1024"])[0])))
        except ValueError:
            size = 1024
        time.sleep(self.server.delay_s)
        self.server.count_request()
        body = b"g" * size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # never write over the TUI


class FetchServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, delay_s: float = 0.2, port: int = 0) -> None:
        self.delay_s = delay_s
        self.requests = 0
        self._count_lock = threading.Lock()
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise BadInput(
                f"cannot start the local HTTP server on 127.0.0.1:{port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="gilviz-http",
            daemon=True,
        )

    def count_request(self) -> None:
        with self._count_lock:
            self.requests += 1

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> FetchServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=2)
