"""The fanned-out reconciliation, the give-back stream function and the sweeper's backstop acting on one order at
once: a part delivered twice at the same time (SQS delivers at least once), the stream's records delivered twice,
the sweeper on top. Whatever the interleaving, each second payment is refunded once and the books, per bank
reference, equal what the fake bank holds."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.model import GIVEN_BACK, PaymentSession
from orders.reconciliation import Reconciler
from orders.terminals import Terminals
from tests.support.aws import terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.ledger import bank_holds, held_by_reference, stream_records
from tests.support.merchant import stored_order

REF = "BOTHATONCE"
FIRST, SECOND = REF + "00", REF + "01"
OPENED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
LATER = OPENED + timedelta(hours=3)
AMOUNT = Decimal("62.73")


def _client(transport: Any) -> Any:
    return lambda terminal: BankClient(terminal, transport, sleep=lambda _: None)


def test_a_part_delivered_twice_at_once_with_the_stream_and_the_sweeper_refunds_the_second_payment_once(
    aws: Any, lambda_context: Any
) -> None:
    bank = FakeBank()
    aws.use(bank_transport=bank, clock=lambda: LATER)
    sessions = (PaymentSession(0, FIRST, OPENED), PaymentSession(1, SECOND, OPENED + timedelta(minutes=5)))
    stored_order(aws, REF, created_at=OPENED, sessions=sessions)
    for paid in (FIRST, SECOND):  # two tabs, both paid at the bank; CGI2 heard of neither
        bank.accounts[paid] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=OPENED.date())

    def slow(url: str, body: bytes, timeout: float) -> bytes:
        time.sleep(0.05)  # every bank call lets the other processes run
        return bank(url, body, timeout)

    terminals = Terminals.from_mapping(terminals_config())
    reconciler = Reconciler(aws.store, terminals, _client(slow))
    plan = reconciler.plan([OPENED.date()], LATER, "schedule")
    assert plan.references == (REF,)

    def part() -> None:
        reconciler.check_references(plan, plan.references, plan.report())

    def stream() -> None:
        aws.invoke("give_back", {"Records": stream_records(aws)}, lambda_context)

    def sweep() -> None:
        BackOffice(aws.store, terminals, _client(slow)).sweep(LATER + timedelta(minutes=10))

    workers = [threading.Thread(target=work) for work in (part, part, stream, sweep, stream)]
    for worker in workers:
        worker.start()
        time.sleep(0.02)
    for worker in workers:
        worker.join()
    stream()  # the stream's records, all of them, delivered again once everything settled
    sweep()
    last = plan.report()
    reconciler.check_references(plan, plan.references, last)
    assert last.failures == {}

    refunds = [fields["reference"] for name, fields in bank.calls if name == "recredit_paiement.cgi"]
    order = aws.store.get(REF)
    assert len(order.second_payments) == 1
    assert order.second_payments[0].state == GIVEN_BACK
    assert refunds == [order.second_payments[0].bank_reference]
    assert held_by_reference(order) == bank_holds(bank) == {order.bank_payment_reference: AMOUNT}
