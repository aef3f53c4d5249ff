"""Kill tests: the back-office and the sweeper stopped dead at every step of a capture and a refund (before the
bank call, after the bank applied it, before the outcome is written), then run again: the bank shows exactly
one capture or refund each time, and the books agree with it.

``Killed`` is a BaseException, as a process being killed is to the code: no ``except Exception`` stops it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.exceptions import PreviousOperationAppliedError
from orders.model import Order, OrderStatus
from orders.store import OrderStore
from orders.terminals import Terminals
from tests.support.aws import terminals_config
from tests.support.fakebank import FakeBank
from tests.support.merchant import CONSOLE, LATER, NOW, paid

MONEY_CGIS = ("capture_paiement.cgi", "recredit_paiement.cgi")
STEPS = ("before_the_bank_call", "after_the_bank_applied_it", "before_the_outcome_is_written")


class Killed(BaseException):
    """The process stopped here."""


class KillSwitch:
    """The bank's transport and the store's outcome write, with one kill armed at ``step``."""

    def __init__(self, bank: FakeBank, step: str) -> None:
        self.bank, self.step, self.armed = bank, step, True

    def transport(self, url: str, body: bytes, timeout: float) -> bytes:
        money = url.rsplit("/", 1)[-1] in MONEY_CGIS
        if money and self.armed and self.step == "before_the_bank_call":
            self.armed = False
            raise Killed
        answer = self.bank(url, body, timeout)
        if money and self.armed and self.step == "after_the_bank_applied_it":
            self.armed = False
            raise Killed
        return answer

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_finish = OrderStore.finish_operation

        def finish(store: OrderStore, *args: Any, **kwargs: Any) -> None:
            if self.armed and self.step == "before_the_outcome_is_written":
                self.armed = False
                raise Killed
            real_finish(store, *args, **kwargs)

        monkeypatch.setattr(OrderStore, "finish_operation", finish)


@pytest.fixture
def bank() -> FakeBank:
    return FakeBank()


def office_for(aws: Any, switch: KillSwitch) -> BackOffice:
    terminals = Terminals.from_mapping(terminals_config())
    return BackOffice(
        aws.store, terminals, lambda terminal: BankClient(terminal, switch.transport, sleep=lambda _: None)
    )


def bank_calls(bank: FakeBank, cgi: str) -> int:
    return sum(1 for name, _ in bank.calls if name == cgi)


def rerun(run: Callable[[], object]) -> None:
    """The operator (or the next schedule) runs it again once the lease has passed; an earlier call found applied
    is reported, not repeated."""
    with contextlib.suppress(PreviousOperationAppliedError):
        run()


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("key", [None, "console-key-1"])
def test_a_console_capture_killed_at_any_step(
    aws: Any, lambda_context: Any, bank: FakeBank, monkeypatch: pytest.MonkeyPatch, step: str, key: str | None
) -> None:
    paid(aws, lambda_context, "KC1", "0900159")
    switch = KillSwitch(bank, step)
    switch.install(monkeypatch)
    office = office_for(aws, switch)
    with pytest.raises(Killed):
        office.capture("KC1", Decimal("10.00"), NOW, CONSOLE, key=key)
    rerun(lambda: office.capture("KC1", Decimal("10.00"), LATER, CONSOLE, key=key))
    assert_one(bank, aws.store.get("KC1"), "capture_paiement.cgi", captured=Decimal("10.00"))


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("key", [None, "console-key-2"])
def test_a_console_refund_killed_at_any_step(
    aws: Any, lambda_context: Any, bank: FakeBank, monkeypatch: pytest.MonkeyPatch, step: str, key: str | None
) -> None:
    paid(aws, lambda_context, "KR1", "0900158")
    office_for(aws, KillSwitch(bank, "none")).capture("KR1", None, NOW, CONSOLE)
    switch = KillSwitch(bank, step)
    switch.install(monkeypatch)
    office = office_for(aws, switch)
    with pytest.raises(Killed):
        office.refund("KR1", Decimal("5.00"), NOW, CONSOLE, key=key)
    rerun(lambda: office.refund("KR1", Decimal("5.00"), LATER, CONSOLE, key=key))
    order = aws.store.get("KR1")
    assert_one(bank, order, "recredit_paiement.cgi", refunded=Decimal("5.00"))
    assert order.status is OrderStatus.PARTIALLY_REFUNDED


@pytest.mark.parametrize("step", STEPS)
def test_the_sweeper_killed_at_any_step(
    aws: Any, lambda_context: Any, bank: FakeBank, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    paid(aws, lambda_context, "KS1", "0900158")  # deferred, validated at the end of the period
    switch = KillSwitch(bank, step)
    switch.install(monkeypatch)
    office = office_for(aws, switch)
    end = NOW + timedelta(days=30)
    with pytest.raises(Killed):
        office.sweep(end)
    office.sweep(end + timedelta(hours=1))  # the next scheduled run, past the lease
    order = aws.store.get("KS1")
    assert_one(bank, order, "capture_paiement.cgi", captured=order.amount.amount)
    assert order.status is OrderStatus.CAPTURED
    assert office.sweep(end + timedelta(hours=2)).outcomes == {}  # nothing left to sweep


def assert_one(bank: FakeBank, order: Order, cgi: str, **books: Decimal) -> None:
    assert bank_calls(bank, cgi) == 1  # exactly one capture (or refund) reached the bank
    account = bank.accounts[order.bank_payment_reference]
    for name, amount in books.items():
        assert getattr(account, name) == amount  # the bank's side
        assert getattr(order, name) == amount  # the books agree with it
    assert order.pending is None
