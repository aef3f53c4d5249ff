"""The local HTTP server (the merchant API's and the demo shop's) with many clients at once."""

from __future__ import annotations

from devhttp import Dispatcher, LocalHttpServer
from simulator.tests.support.backlog import answers_to_waiting_clients


def test_fifty_clients_waiting_at_once_all_get_an_answer() -> None:
    # A listen backlog of 5 (socketserver's default) left the 7th client unanswered, then reset or timed out.
    server = LocalHttpServer("127.0.0.1", 0, Dispatcher())  # bound and listening, not accepting yet
    try:
        answers = answers_to_waiting_clients(server.port, server.start, 50, "/nowhere")
    finally:
        server.stop()
    assert answers == [b"HTTP/1.1 404 Not Found"] * 50
