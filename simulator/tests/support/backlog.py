"""Many clients at once against one of our HTTP servers, deterministically.

The clients all connect while the server is bound and listening but not yet accepting, as when it is busy: the
kernel completes each handshake and queues the connection, up to the listen backlog. Beyond it, a connection
attempt goes unanswered (its SYN is dropped until there is room) or is reset, so a client with a timeout fails.
Then the server starts, and each client must get an answer to the request it sent.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

CONNECT_TIMEOUT = 2.0  # a dropped SYN is sent again after 1 s, then 3 s: 2 s tells the backlog apart


def answers_to_waiting_clients(port: int, start: Callable[[], None], clients: int, path: str = "/") -> list[bytes]:
    """Connect ``clients`` clients to 127.0.0.1:``port`` and send each a GET, then ``start()`` the server; the
    status lines they get, or the error each ran into."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    connections: list[socket.socket] = []
    answers: list[bytes] = []
    refused: list[bytes] = []
    try:
        for _ in range(clients):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
            except OSError as error:
                refused.append(f"connect: {error!r}".encode())
                break
            connections.append(connection)
            connection.sendall(request)
        start()
        for connection in connections:
            connection.settimeout(10)
            try:
                answers.append(connection.makefile("rb").readline().rstrip())
            except OSError as error:
                answers.append(f"read: {error!r}".encode())
    finally:
        for connection in connections:
            connection.close()
    return answers + refused
