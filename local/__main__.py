"""``python -m local`` (``make run``): start the local stack, print its URLs, run until Ctrl-C or SIGTERM."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from types import FrameType

from .config import LocalConfig
from .stack import LocalStack

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
    curl = f"curl -s -X POST {base}/orders -H 'content-type: application/json' -d {shlex.quote(SAMPLE_ORDER)}"
    return f"""
Merchant kit, local stack (no Docker, no AWS account; everything on 127.0.0.1)

  API          {base}
{routes}
  AWS (moto)   {stack.aws_endpoint_url}   tables: {tables}
  terminals    {stack.secret_arn}
  health       {base}/_local/health

Create an order, then open its checkout_url in a browser:
  {curl}

Ctrl-C stops everything.
"""


def main() -> int:
    config = LocalConfig.from_environ()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = LocalStack(config)
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
    sys.exit(main())
