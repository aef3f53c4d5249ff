"""The dev HTTP server the local stack, the demo shop and the sandbox bank share (development only, never deployed).

Plain requests and responses (``HttpRequest``, ``HttpResponse``), API Gateway's way of matching a path to a
resource (``Router``), a dispatcher and a threaded server to put behind them. It imports no other package of
the project, so each of them can use it without importing the others.
"""

from .messages import HttpRequest, HttpResponse
from .routes import Match, MethodNotAllowed, Router
from .server import Dispatcher, LocalHttpServer, ServerThread, Target, ThreadingServer, internal_server_error
from .tls import HANDSHAKE_SECONDS, TlsPerConnection

__all__ = [
    "HANDSHAKE_SECONDS",
    "Dispatcher",
    "HttpRequest",
    "HttpResponse",
    "LocalHttpServer",
    "Match",
    "MethodNotAllowed",
    "Router",
    "ServerThread",
    "Target",
    "ThreadingServer",
    "TlsPerConnection",
    "internal_server_error",
]
