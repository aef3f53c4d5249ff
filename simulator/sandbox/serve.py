"""Run the sandbox bank alone: ``python sandbox/serve.py --terminals terminals.json [--port 8000] [--https]``.

``make run`` starts it with the merchant API and the demo shop instead; this is for pointing another
merchant (another project, a staging stack) at a local test bank. Its book is an embedded DynamoDB (moto, in
this process, gone when it stops) unless ``--aws`` names a real table (``--table``, AWS credentials or
``AWS_ENDPOINT_URL`` from the environment).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
for entry in (HERE, HERE.parent / "layers" / "sealing", HERE.parent):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from chalicelib.bank import Bank  # noqa: E402
from chalicelib.devserver import SandboxServer  # noqa: E402
from chalicelib.ledger import DEFAULT_TABLE, Ledger  # noqa: E402
from chalicelib.terminals import BankConfig, ConfigurationError  # noqa: E402


@contextlib.contextmanager
def embedded_dynamodb(real: bool) -> Iterator[None]:
    """moto's DynamoDB in this process, one request at a time (its conditional writes atomic, as DynamoDB's)."""
    if real:
        yield
        return
    from moto import mock_aws

    from stacktools.dynamodb_lock import serialised_dynamodb

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws(), serialised_dynamodb():
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--terminals", default=str(HERE / "terminals.example.json"), help="the terminals JSON file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--https", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument("--aws", action="store_true", help="keep the payments in a real DynamoDB table")
    parser.add_argument("--table", default=DEFAULT_TABLE, help="the DynamoDB table (created if missing)")
    args = parser.parse_args(argv)
    try:
        config = BankConfig.from_file(args.terminals)
    except ConfigurationError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    with embedded_dynamodb(args.aws):
        return serve(config, args)


def serve(config: BankConfig, args: argparse.Namespace) -> int:
    ledger = Ledger(args.table)
    ledger.ensure_table()
    server = SandboxServer(Bank(config, ledger=ledger), host=args.host, port=args.port, tls=args.https)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"sandbox bank on {server.base_url}  (payment page {server.test_url}/paiement.cgi)", flush=True)
    if server.certificate:
        print(f"  self-signed certificate: {server.certificate}", flush=True)
    for tpe in config.terminals:
        print(f"  terminal {tpe} -> CGI2 {config.terminals[tpe].cgi2_url}", flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
