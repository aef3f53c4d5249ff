"""The fuzz target both fuzzers share (Hypothesis in the suite, atheris from ``fuzz_cgi2.py``): CGI2's service on any
body, against an in-memory store that holds one order awaiting payment and records every write.

What must hold for every input: ``receive_confirmation`` returns (never raises) one of the defined kinds, and the
store is written only when the body carries a seal an independent verifier accepts (``parse_qsl``, sort, join,
HMAC-SHA1, ``compare_digest``): no state change without a valid seal.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus, urlencode

from orders.exceptions import OrderNotFoundError
from orders.lifecycle import Decision
from orders.model import Order, OrderStatus
from orders.payment import ConfirmationKind, receive_confirmation
from orders.sessions import first_session
from orders.terminals import PaymentMode, Terminals
from sealing import MerchantKey, Money, seal
from tests.support.aws import TEST_KEY, terminals_config

NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
REFERENCE = "FUZZORDER0"
# The public test key, decoded by hand (not by the code under test).
KEY_BYTES = bytes.fromhex("1234567890123456789012345678901234567890")
TERMINALS = Terminals.from_mapping(terminals_config())
KINDS = set(ConfirmationKind)


class RecordingStore:
    """One order awaiting payment; every write recorded, none applied (each input starts from the same state)."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.order = Order(
            reference=REFERENCE, tpe="0900157", mode=PaymentMode.IMMEDIATE, status=OrderStatus.AWAITING_PAYMENT,
            amount=Money(Decimal("62.73"), "EUR"), email="buyer@example.com", language="FR", created_at=NOW,
            checkout_token_hash="0" * 64, sessions=(first_session(REFERENCE, NOW),),
        )  # fmt: skip

    def get(self, reference: str) -> Order:
        if reference != REFERENCE:
            raise OrderNotFoundError(reference)
        return self.order

    def apply(self, order: Order, decision: Decision) -> None:
        self.writes.append(f"apply {decision.verdict.value}")

    def keep_unmatched(self, *args: Any) -> None:
        self.writes.append("keep_unmatched")


def sealed_by_oracle(body: bytes) -> bool:
    """An independent reading of the seal (DSP2: every field but MAC, sorted by name, ``name=value`` joined by
    ``*``). Empty parts between ``&`` carry nothing and are skipped; a part without ``=``, a body that is not
    UTF-8, or a repeated field has no valid seal."""
    try:
        parts = [part for part in body.decode("utf-8", errors="strict").split("&") if part]
        if any("=" not in part for part in parts):
            return False
        fields = [tuple(unquote_plus(side, errors="strict") for side in part.split("=", 1)) for part in parts]
    except UnicodeDecodeError:
        return False
    names = [name for name, _ in fields]
    if len(set(names)) != len(names) or names.count("MAC") != 1:
        return False
    mac = dict(fields)["MAC"]
    data = "*".join(f"{name}={value}" for name, value in sorted(f for f in fields if f[0] != "MAC"))
    digest = hmac.new(KEY_BYTES, data.encode("utf-8"), hashlib.sha1).hexdigest()
    return hmac.compare_digest(digest.encode(), mac.lower().encode("utf-8")) and mac == mac.strip()


def valid_body(code: str = "payetest", **changes: str) -> bytes:
    """A genuine confirmation for the order, sealed with the test key (the fuzzers' seed)."""
    fields = {
        "TPE": "0900157", "date": "27/11/2026_a_10:15:00", "montant": "62.73EUR", "reference": REFERENCE + "00",
        "texte-libre": "", "code-retour": code, "cvx": "oui", "vld": "1228", "brand": "VI", "status3ds": "1",
        "numauto": "123456", "motifrefus": "", "originecb": "FRA", "bincb": "411111",
        "hpancb": "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45", "ipclient": "203.0.113.9", **changes,
    }  # fmt: skip
    pairs = list(fields.items())
    return urlencode([*pairs, ("MAC", seal(MerchantKey(TEST_KEY), pairs))]).encode()


def check(body: bytes) -> ConfirmationKind:
    """Run one input; raise AssertionError when a rule is broken."""
    store = RecordingStore()
    receipt = receive_confirmation(body, lambda: TERMINALS, store, NOW)  # type: ignore[arg-type]
    assert receipt.kind in KINDS, receipt
    if store.writes or receipt.kind in {ConfirmationKind.APPLIED, ConfirmationKind.UNMATCHED}:
        assert sealed_by_oracle(body), f"written without a valid seal: {store.writes} {receipt} {body[:200]!r}"
    if receipt.kind is ConfirmationKind.REJECTED:
        assert store.writes == [], store.writes
    return receipt.kind
