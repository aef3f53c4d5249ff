"""The sandbox bank as a Chalice app: ``chalice deploy`` (staging) or ``chalice local`` from this directory.

Its terminals come from ``SANDBOX_TERMINALS`` (JSON text), ``SANDBOX_TERMINALS_FILE`` or
``chalicelib/terminals.json``; its payments are in the DynamoDB table ``SANDBOX_TABLE`` (default
``sandbox-bank``), created at the first cold start if it does not exist (``.chalice/policy-dev.json`` allows it).
``make sandbox-vendor`` copies the ``sealing`` package into ``vendor/`` first (Chalice packages ``vendor/`` at
the root of the function); in development ``layers/sealing`` is on the path.
For ``make run`` and the tests the same app is served by ``chalicelib.devserver``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_SEALING = Path(__file__).resolve().parents[2] / "layers" / "sealing"
if _SEALING.is_dir() and str(_SEALING) not in sys.path:  # a checkout, not a deployment package
    sys.path.insert(0, str(_SEALING))

from chalicelib.bank import Bank  # noqa: E402
from chalicelib.ledger import Ledger  # noqa: E402
from chalicelib.terminals import BankConfig  # noqa: E402
from chalicelib.web import create_app  # noqa: E402

ledger = Ledger.from_environment()
ledger.ensure_table()
app = create_app(Bank(BankConfig.from_environment(), ledger=ledger))
