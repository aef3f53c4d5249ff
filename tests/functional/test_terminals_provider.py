"""Every use case is given the terminals one way: the provider, read when the configuration is used.

A use case built before a key rotation (a sweep that runs for minutes, a reconciliation's parts) then uses the keys
the provider gives at that moment, and CGI2 can read them again past the cache; a fixed configuration provides itself.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from orders import daybook
from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.giveback import GiveBacks
from orders.payment import create_order, open_checkout
from orders.reconciliation import Reconciler, Report
from orders.terminals import Terminals
from tests.support.aws import terminals_config
from tests.support.fakebank import FakeBank
from tests.support.merchant import BILLING, NOW, paid

PAYLOAD = {"amount": "62.73", "currency": "EUR", "email": "buyer@example.com", "billing": BILLING}


class CountingProvider:
    """The terminals, counting how often they were asked for."""

    def __init__(self) -> None:
        self.configuration = Terminals.from_mapping(terminals_config())
        self.reads = 0

    def __call__(self) -> Terminals:
        self.reads += 1
        return self.configuration


def test_a_fixed_configuration_provides_itself() -> None:
    terminals = Terminals.from_mapping(terminals_config())
    assert terminals() is terminals


def test_create_order_and_the_checkout_read_the_provider(aws: Any) -> None:
    provider = CountingProvider()
    created = create_order(PAYLOAD, provider, aws.store, NOW)
    assert provider.reads == 1
    checkout = open_checkout(created.checkout_token, provider, aws.store, NOW)
    assert checkout.form is not None
    assert provider.reads == 2


@pytest.mark.parametrize("use_case", [BackOffice, GiveBacks, Reconciler])
def test_the_back_office_reads_the_provider_when_it_works_not_when_it_is_built(
    aws: Any, lambda_context: Any, use_case: Any
) -> None:
    bank = FakeBank()
    paid(aws, lambda_context, "PROVIDER01", "0900157")
    provider = CountingProvider()
    built = use_case(aws.store, provider, lambda terminal: BankClient(terminal, bank, sleep=lambda _: None))
    assert provider.reads == 0
    order = aws.store.get("PROVIDER01")
    if isinstance(built, Reconciler):
        report = Report("test", NOW)
        built.check(order, NOW, report)  # the bank's status, asked with the order's terminal
        assert (report.checked, report.failures) == (1, {})
    else:
        assert built.bank(order).terminal.tpe == "0900157"  # the bank client of the order's terminal
    assert provider.reads >= 1


def test_the_books_read_the_provider(aws: Any) -> None:
    provider = CountingProvider()
    assert daybook.booked(aws.store, provider, date(2026, 11, 27), "captures") == []
    assert provider.reads == 1
