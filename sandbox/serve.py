"""Run the sandbox bank alone: ``python sandbox/serve.py --terminals terminals.json [--port 8000] [--https]``.

``make run`` starts it with the merchant API and the demo shop instead; this is for pointing another
merchant (another project, a staging stack) at a local test bank.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
for entry in (HERE, HERE.parent / "layers" / "sealing"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from chalicelib.bank import Bank  # noqa: E402
from chalicelib.devserver import SandboxServer  # noqa: E402
from chalicelib.terminals import BankConfig, ConfigurationError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--terminals", default=str(HERE / "terminals.example.json"), help="the terminals JSON file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--https", action="store_true", help="serve HTTPS with a self-signed certificate")
    args = parser.parse_args(argv)
    try:
        config = BankConfig.from_file(args.terminals)
    except ConfigurationError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    server = SandboxServer(Bank(config), host=args.host, port=args.port, tls=args.https)
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
