"""HTTPS for a dev server without one silent client freezing it: the handshake runs in the connection's thread.

Wrapping the listening socket would run every handshake inside ``accept()``, and one connection that says
nothing would hold up the whole server; here a connection is wrapped by its own handler, the handshake bounded
by ``handshake_timeout``, so it holds up only its own thread.
"""

from __future__ import annotations

import socket
import ssl
from socketserver import StreamRequestHandler
from typing import Any

HANDSHAKE_SECONDS = 10.0


class TlsPerConnection(StreamRequestHandler):
    """A request handler mixin: with ``tls``, the connection is served over TLS; without it, as it came."""

    request: Any  # socketserver's: the connection's socket, then its TLS wrapper

    def __init__(
        self,
        *args: Any,
        tls: ssl.SSLContext | None = None,
        handshake_timeout: float = HANDSHAKE_SECONDS,
        **kwargs: Any,
    ) -> None:
        # Set before the base class's __init__, which serves the whole request.
        self.tls = tls
        self.handshake_timeout = handshake_timeout
        self.secured = True
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        if self.tls is not None:
            connection: socket.socket = self.request
            try:
                connection.settimeout(self.handshake_timeout)
                secure = self.tls.wrap_socket(connection, server_side=True)
                secure.settimeout(None)
            except OSError:  # not TLS, gone, or silent too long: drop it quietly
                self.secured = False
                return
            self.request = secure  # what StreamRequestHandler.setup reads and writes through
        super().setup()

    def handle(self) -> None:
        if self.secured:
            super().handle()

    def finish(self) -> None:
        if not self.secured:
            return
        super().finish()
        if self.tls is not None:  # the server closes the plain socket it accepted; this one is ours
            self.request.close()
