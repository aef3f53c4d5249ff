"""``python -m local`` (``make run``): start the local stack, print its URLs, run until Ctrl-C or SIGTERM.

``python -m local invoke <LogicalId> -e events/<file>.json``: run one function with one event (``local.invoke``)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from types import FrameType

from .config import LocalConfig
from .console import SIGN_IN_ROUTE as CONSOLE_SIGN_IN
from .samples import SampleOrders
from .stack import LocalStack, Service

SAMPLE_ORDER = (
    '{"amount":"62.73","currency":"EUR","email":"buyer@example.com",'
    '"billing":{"addressLine1":"1 rue de la Paix","city":"Paris","postalCode":"75002","country":"FR"}}'
)


def _auth(authorizer: str) -> str:
    return "public" if authorizer == "NONE" else f"{authorizer}: let through locally"


def banner(stack: LocalStack) -> str:
    base = stack.base_url
    width = max(len(path) for _, path, _, _ in stack.describe_routes()) if stack.describe_routes() else 0
    routes = "\n".join(
        f"    {method:<6} {base}{path:<{width}}  {function} ({_auth(auth)})"
        for method, path, function, auth in stack.describe_routes()
    )
    tables = ", ".join(table.name for table in stack.tables.values())
    services = "".join(f"{line}\n" for service in stack.services for line in getattr(service, "describe", lambda: [])())
    keys = ""
    if stack.test_key:
        keys = (
            f"  Keys API     {stack.keys_api_url}   the same merchant routes, Authorization: Bearer <shop key>"
            " (its authorizer run as API Gateway runs it)\n"
            f"  Shop key (test): {stack.test_key}   (scope back_office; POST /keys makes others)\n"
        )
    console = ""
    if stack.console_users is not None:
        console = (
            f"  Console      {base}/console   signed in as the test operator: {base}{CONSOLE_SIGN_IN}?as=operator\n"
            f"               (as the test viewer: ?as=viewer; their e-mails and passwords: docs/console.md)\n"
        )
    curl = f"curl -s -X POST {base}/orders -H 'content-type: application/json' -d {shlex.quote(SAMPLE_ORDER)}"
    return f"""
Merchant kit, local stack (no Docker, no AWS account; everything on 127.0.0.1)

  API          {base}   region: {stack.config.region} (signed calls: any AWS credentials are let through)
{routes}
{keys}{console}  AWS (moto)   {stack.aws_endpoint_url}   tables: {tables}
  terminals    {stack.secret_arn}
  health       {base}/_local/health
{services}
Create an order, then open its checkout_url in a browser:
  {curl}

Ctrl-C stops everything.
"""


def services(config: LocalConfig) -> tuple[LocalConfig, list[Service]]:
    """The sandbox bank and the demo shop, unless ``LOCAL_SANDBOX=0``; the terminals then point at the sandbox.

    ``SANDBOX_PORT`` (default 3001), ``SHOP_PORT`` (default 3002): free ports when ``PORT=0``;
    ``SANDBOX_HTTPS=1`` serves the sandbox over HTTPS with a self-signed certificate."""
    if os.environ.get("LOCAL_SANDBOX", "1") == "0":
        return config, []
    from .sandbox import with_sandbox_and_shop

    free = config.port == 0
    return with_sandbox_and_shop(
        config,
        sandbox_port=int(os.environ.get("SANDBOX_PORT", "0" if free else "3001")),
        shop_port=int(os.environ.get("SHOP_PORT", "0" if free else "3002")),
        https=os.environ.get("SANDBOX_HTTPS", "") == "1",
    )


def main() -> int:
    try:
        config, extra = services(LocalConfig.from_environ())
    except OSError as exc:
        ports = (
            f"SANDBOX_PORT={os.environ.get('SANDBOX_PORT', '3001')}, SHOP_PORT={os.environ.get('SHOP_PORT', '3002')}"
        )
        print(
            f"local: cannot start the sandbox bank or the shop ({ports}): {exc}; choose free ports with"
            " SANDBOX_PORT=... SHOP_PORT=... (and PORT=... for the API, 3000 unless set)",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = LocalStack(config, services=[*extra, SampleOrders()])
    try:
        stack.start()
    except OSError as exc:
        where = f"{config.host}:{config.port}"
        print(f"local: cannot start on {where}: {exc} (choose another port with PORT=...)", file=sys.stderr)
        return 1
    try:
        print(banner(stack), flush=True)
        while not stop.wait(1.0):
            pass
        print("local: stopping", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["invoke"]:  # python -m local invoke <LogicalId> -e events/<file>.json
        from .invoke import main as invoke

        sys.exit(invoke(sys.argv[2:]))
    sys.exit(main())
