"""Replay confirmations that CGI2 could not store, from its log lines.

When the orders table fails, CGI2 answers an error status (the bank alerts the merchant) and logs the
confirmation without card data under ``confirmation NOT stored``. Feed those log lines (JSON, one per
line, as CloudWatch Logs shows them) to::

    ORDERS_TABLE=... TERMINALS_SECRET_ARN=... python -m orders.replay < lines.jsonl

Each is applied exactly as CGI2 would have (replays are idempotent: the MAC is the confirmation's
identity). Lines whose seal was not checked before logging are skipped unless ``--unverified`` says the
merchant checked them against the bank's dashboard.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from sealing import ReceivedForm

from . import config
from .exceptions import OrdersError
from .service import apply_intact_confirmation
from .store import OrderStore
from .terminals import Terminals

NOT_STORED = "confirmation NOT stored"


def _fields(record: dict[str, Any]) -> ReceivedForm | None:
    fields = record.get("fields")
    if record.get("message") != NOT_STORED or not isinstance(fields, dict) or "TPE" not in fields:
        return None
    return ReceivedForm(tuple((str(name), str(value).encode("utf-8")) for name, value in fields.items()))


def replay(
    lines: Iterable[str], terminals: Terminals, store: OrderStore, now: datetime, *, unverified: bool = False
) -> list[str]:
    """Apply every replayable log line; one line of outcome per confirmation found."""
    outcomes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            outcomes.append(f"line {number}: not JSON, skipped")
            continue
        form = _fields(record) if isinstance(record, dict) else None
        if form is None:
            continue
        reference = form.text("reference") or "?"
        if not record.get("verified") and not unverified:
            outcomes.append(f"{reference}: seal not checked; verify it in the bank's dashboard, then use --unverified")
            continue
        try:
            receipt = apply_intact_confirmation(form, terminals.get(form.tpe), store, now)
        except OrdersError as exc:
            outcomes.append(f"{reference}: {exc}")
            continue
        stored = "stored" if receipt.status_code == 200 else "NOT stored"
        outcomes.append(f"{reference}: {stored}, {receipt.outcome}")
    return outcomes


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orders.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--unverified", action="store_true", help="also replay lines whose seal was not checked")
    args = parser.parse_args(argv)
    try:
        terminals, store = config.load_terminals(), config.order_store()
        outcomes = replay(stdin or sys.stdin, terminals, store, datetime.now(UTC), unverified=args.unverified)
    except OrdersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        print(outcome)
    return 1 if any("NOT stored" in outcome for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
