"""The orders the sample events (events/*.json) name, put in the local table by `make run`.

`sam local invoke -e events/<file>.json` and the local stack then answer the samples as the README says: the
checkout event finds its order by its token, the confirmations find the order they pay. Everything is read
from the events themselves, so regenerated events seed what they name.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from stacktools.template import ROOT

if TYPE_CHECKING:
    from .host import Host

EVENTS = ROOT / "events"


def _event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text(encoding="utf-8")))


def _form(event: dict[str, Any]) -> dict[str, str]:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def bank_reference(order_reference: str, number: int) -> str:
    from orders.sessions import bank_reference as session_reference  # the layer is on the path once started

    return session_reference(order_reference, number)


def sample_order() -> dict[str, str]:
    """What the samples say of their order: reference, checkout secret, terminal, amount and currency."""
    token = _event("checkout.json")["pathParameters"]["token"]
    reference, _, secret = token.partition(".")
    confirmation = _form(_event("confirmation_accepted.json"))
    if confirmation["reference"] != bank_reference(reference, 0):
        raise ValueError(
            f"events: checkout names order {reference}, the confirmation {confirmation['reference']}, which is not "
            "its first payment session"
        )
    amount = confirmation["montant"]
    return {
        "reference": reference,
        "secret": secret,
        "tpe": confirmation["TPE"],
        "amount": amount[:-3],
        "currency": amount[-3:],
    }


def seed(table_name: str, client: Any = None) -> str:
    """Create the samples' order (awaiting payment) unless it exists; its reference."""
    from orders.exceptions import ConcurrentUpdateError
    from orders.model import Order, OrderStatus
    from orders.sessions import first_session
    from orders.store import OrderStore
    from orders.terminals import PaymentMode
    from sealing import Money

    sample = sample_order()
    now = datetime.now(UTC)
    order = Order(
        reference=sample["reference"],
        tpe=sample["tpe"],
        mode=PaymentMode.IMMEDIATE,
        status=OrderStatus.AWAITING_PAYMENT,
        amount=Money(Decimal(sample["amount"]), sample["currency"]),
        email="buyer@example.com",
        language="FR",
        created_at=now,
        sessions=(first_session(sample["reference"], now),),
        checkout_token_hash=hashlib.sha256(sample["secret"].encode("ascii")).hexdigest(),
        billing={"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
    )
    with contextlib.suppress(ConcurrentUpdateError):  # seeded before: left as the samples made it
        OrderStore(table_name, client=client).create(order)
    return order.reference


class SampleOrders:
    """A service of `make run`: the samples' order, in the table once the stack is up."""

    name = "sample orders"

    def __init__(self) -> None:
        self.reference = ""

    def start(self, stack: Host) -> None:
        self.reference = seed(stack.table_name("OrdersTable"))

    def stop(self) -> None:
        pass

    def describe(self) -> list[str]:
        return [f"  samples      order {self.reference} for events/*.json (`make sam-local`: in Lambda's containers)"]
