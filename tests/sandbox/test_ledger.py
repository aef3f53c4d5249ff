"""The ledger under threads: chalice's dev server serves each connection in its own thread, so the dashboard
reads the ledger while the payment page opens payments."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

from chalicelib.ledger import Ledger, Payment, new_session
from sealing import Money

from .conftest import START


def payment(number: int, tpe: str = "0900157") -> Payment:
    return Payment(
        tpe=tpe,
        reference=f"T{number}",
        amount=Money(Decimal("62.73"), "EUR"),
        ordered_at=START,
        language="FR",
        email="buyer@example.com",
        free_text="",
        return_ok_url="http://shop.example/ok",
        return_err_url="http://shop.example/err",
        fields=(),
        session=new_session(),
        created_at=START,
    )


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows: a race shows at once."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_the_ledger_can_be_read_while_payments_are_opened(fast_switching: None) -> None:
    ledger = Ledger()
    for number in range(2000):
        ledger.add(payment(number, "0900157" if number % 2 else "0900158"))
    stop = threading.Event()
    errors: list[BaseException] = []

    def open_payments() -> None:  # what Bank.open_payment does, under the lock
        number = 2000
        while not stop.is_set():
            with ledger.lock:
                ledger.add(payment(number))
            number += 1

    def read() -> None:  # what the dashboard's pages do
        try:
            for _ in range(200):
                ledger.of_terminal("0900157")
                list(ledger)
        except RuntimeError as error:  # dictionary changed size during iteration
            errors.append(error)

    writers = [threading.Thread(target=open_payments) for _ in range(2)]
    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in writers + readers:
        thread.start()
    for thread in readers:
        thread.join(60)
    stop.set()
    for thread in writers:
        thread.join(60)
    assert errors == []
    assert len(ledger.of_terminal("0900158")) == 1000
