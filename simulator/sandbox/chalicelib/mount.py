"""What the gateway says about a request: where the sandbox is mounted in the URL the browser used (for its
links, redirects, form actions and cookie), and the caller's address.

Served locally (``make run``, ``chalice local``) the routes are the URL: ``/test/paiement.cgi``. Deployed with
``chalice deploy``, API Gateway's default endpoint puts the stage first (``/api/test/paiement.cgi``) and a custom
domain its base path (``/bank/test/...``), while the app still sees ``/test/...``: the prefix is what the
gateway's ``requestContext.path`` has before the event's ``path``.
"""

from __future__ import annotations

import re

from chalice.app import Request

_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


def mount_prefix(request: Request) -> str:
    """``""`` locally, ``"/api"`` behind the stage ``api``: put it before every path the app writes."""
    context = request.context or {}
    seen = str(context.get("path") or "")
    routed = str(request.to_original_event().get("path") or "")
    if routed and seen.endswith(routed):
        prefix = seen[: len(seen) - len(routed)]
    else:
        stage = str(context.get("stage") or "")
        prefix = f"/{stage}" if stage and seen.startswith(f"/{stage}/") else ""
    prefix = prefix.rstrip("/")
    return prefix if _PREFIX.fullmatch(prefix) else ""


def client_ip(request: Request) -> str:
    """The caller's address as the gateway saw the connection (API Gateway's ``sourceIp``; the dev server puts
    the socket's peer there). Never ``X-Forwarded-For``: anyone can write that header, and the back-office
    allow-list (-30), the confirmation's ``ipclient`` and the dashboard's login throttle rest on this address."""
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "")
