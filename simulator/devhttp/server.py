"""The dev HTTP server: requests in, ``Dispatcher`` decides, responses out. Bound to 127.0.0.1 by its callers.

The dispatcher holds two routers: the template's routes (for the local stack, each one invokes a function with a
proxy event, as API Gateway would) and local-only routes (``/_local/...``: dev conveniences, never deployed; the
demo shop's pages). Unknown path → 404, known path without that method → 405, a failing handler → API Gateway's
502, so a local failure looks like a deployed one.

``ThreadingServer`` and ``ServerThread`` are the parts every dev server here shares, the sandbox bank's
Chalice server included: a listen backlog that holds a burst of clients, served from a daemon thread.
"""

from __future__ import annotations

import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .messages import HttpRequest, HttpResponse
from .routes import Match, MethodNotAllowed, Router

# A route's target: what answers a matched request.
RouteHandler = Callable[[HttpRequest, Match[Any]], HttpResponse]


INTERNAL_SERVER_ERROR = 502


def internal_server_error() -> HttpResponse:
    """What API Gateway answers when the Lambda integration fails or returns something malformed."""
    return HttpResponse.json(INTERNAL_SERVER_ERROR, {"message": "Internal server error"})


@dataclass(frozen=True)
class Target:
    name: str  # what the request log shows, e.g. the function's logical id
    handle: RouteHandler


class Dispatcher:
    def __init__(self, *, log: Callable[[str], None] | None = None) -> None:
        self.template_routes: Router[Target] = Router()
        self.local_routes: Router[Target] = Router()
        self._log = log

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        name = "-"
        match: Match[Target] | MethodNotAllowed | None = self.template_routes.match(request.method, request.path)
        if match is None:
            match = self.local_routes.match(request.method, request.path)
        if match is None:
            response = HttpResponse.json(404, {"message": "Not Found"})
        elif isinstance(match, MethodNotAllowed):
            response = HttpResponse.json(405, {"message": "Method Not Allowed"}, [("Allow", ", ".join(match.allowed))])
        else:
            name = match.target.name
            try:
                response = match.target.handle(request, match)
            except Exception:
                print(f"local: {request.method} {request.path} → {name} failed:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                response = internal_server_error()
        if self._log is not None:
            elapsed = (time.monotonic() - started) * 1000
            self._log(
                f"{request.client_ip} {request.method} {request.target} → {name} {response.status} ({elapsed:.0f} ms)"
            )
        return response


# Response headers the server writes itself.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "merchant-kit-local"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the dispatcher logs one line per request

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self._send(HttpResponse.json(400, {"message": "Bad Request"}))
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            client_ip=self.client_address[0],
            host=self.headers.get("Host") or self.server.authority,
        )
        self._send(self.server.dispatcher.handle(request))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class ThreadingServer(ThreadingHTTPServer):
    """One thread per connection, none of them holding up the process's exit."""

    daemon_threads = True
    # Connections the kernel queues while the server is busy; socketserver's 5 made the 7th concurrent client
    # wait for a SYN retry (1 s, 3 s...) or be reset. The browser, the shop and the sandbox call at once.
    request_queue_size = 128


class ServerThread:
    """Serves a bound server from a daemon thread: ``start()``; ``stop()`` ends it and closes its socket."""

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        self.name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()


class LocalHttpServer(ThreadingServer):
    """Binds at construction (so the port is known before the handlers are configured); serves on ``start()``."""

    def __init__(self, host: str, port: int, dispatcher: Dispatcher) -> None:
        super().__init__((host, port), _RequestHandler)
        self.dispatcher = dispatcher
        self._serving = ServerThread(self, "local-http")

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def authority(self) -> str:
        host = self.server_address[0]
        return f"{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.authority}"

    def start(self) -> None:
        self._serving.start()

    def stop(self) -> None:
        self._serving.stop()
