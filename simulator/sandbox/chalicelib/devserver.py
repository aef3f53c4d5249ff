"""Serve the sandbox's Chalice app with Chalice's local dev server, in a thread, on a chosen port.

    server = SandboxServer(Bank(BankConfig.from_file("terminals.json")), port=0)   # binds now: port known
    server.start(); ...; server.stop()

``tls=True`` serves HTTPS with a self-signed certificate for 127.0.0.1 / localhost made by ``tls`` (the
real pages are SSL-only); plain HTTP stays the local default. Development only: never imported by the
deployed app.
"""

from __future__ import annotations

import functools
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

from devhttp import HANDSHAKE_SECONDS, ServerThread, ThreadingServer, TlsPerConnection

from .bank import Bank
from .web import create_app


class _Handler(TlsPerConnection, ChaliceRequestHandler):
    """Chalice's handler, with the event's ``requestContext.identity.sourceIp`` the connection's real peer, as
    API Gateway sets it (chalice's own handler writes 127.0.0.1 for everyone); served over TLS with ``tls``."""

    def setup(self) -> None:
        # One gateway (and event converter) per connection: this sets this connection's address only.
        self.local_gateway.event_converter.LOCAL_SOURCE_IP = str(self.client_address[0])
        super().setup()

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        """The request's headers with ``X-Forwarded-Proto`` the connection's real scheme, as API Gateway sets
        it (whatever the client wrote): the dashboard's cookie is ``Secure`` under HTTPS."""
        headers, body = super()._parse_payload()
        headers = {name: value for name, value in headers.items() if name.lower() != "x-forwarded-proto"}
        headers["X-Forwarded-Proto"] = "https" if self.tls is not None else "http"
        return headers, body


class _QuietHandler(_Handler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LoggingHandler(_Handler):
    def log_message(self, format: str, *args: Any) -> None:
        print(f"sandbox: {self.address_string()} {format % args}", file=sys.stderr, flush=True)


class SandboxServer:
    name = "sandbox"

    def __init__(
        self,
        bank: Bank,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        cert_dir: Path | None = None,
        quiet: bool = False,
        handshake_timeout: float = HANDSHAKE_SECONDS,
    ) -> None:
        self.bank = bank
        self.app = create_app(bank)
        # What chalice.local.create_local_server does, with a handler class of our own (quiet or logging).
        CustomLocalChalice.__bases__ = (LocalChalice, self.app.__class__)
        self.app.__class__ = CustomLocalChalice
        config = Config.create(app_name="sandbox-bank", lambda_timeout=30, lambda_memory_size=256)
        self.host = host
        self.tls = tls
        self.certificate: Path | None = None
        context: ssl.SSLContext | None = None
        # A certificate directory of its own when none is given, removed by stop() (or at interpreter exit).
        self._scratch = tempfile.TemporaryDirectory(prefix="sandbox-tls-") if tls and cert_dir is None else None
        if tls:
            from .tls import self_signed_certificate

            directory = Path(self._scratch.name) if self._scratch else cert_dir
            self.certificate, key = self_signed_certificate(directory, hosts=(host, "localhost"))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certificate, key)
        handler = functools.partial(
            _QuietHandler if quiet else _LoggingHandler, tls=context, handshake_timeout=handshake_timeout
        )
        self.dev = LocalDevServer(self.app, config, host, port, handler_cls=handler, server_cls=ThreadingServer)
        self._serving = ServerThread(self.dev.server, "sandbox-http")

    @property
    def port(self) -> int:
        return int(self.dev.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def test_url(self) -> str:
        """Where the merchant's terminals point (``payment_base_url`` / ``backoffice_base_url``)."""
        return f"{self.base_url}/test"

    def start(self) -> None:
        self._serving.start()

    def stop(self) -> None:
        self._serving.stop()
        if self._scratch is not None:
            self._scratch.cleanup()
