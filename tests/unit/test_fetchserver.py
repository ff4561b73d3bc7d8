"""The local HTTP server the fetch workload talks to."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from gilviz.core.errors import BadInput
from gilviz.core.running.fetchserver import FetchServer


def test_serves_the_bytes_asked_for_and_stops():
    with FetchServer(delay_s=0) as server:
        url = server.url
        with urllib.request.urlopen(url + "?bytes=1234", timeout=10) as reply:
            assert len(reply.read()) == 1234
        assert server.requests == 1
        port = server.server_address[1]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_port_taken_is_one_clear_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BadInput, match=f"127.0.0.1:{port}"):
            FetchServer(delay_s=0, port=port)
