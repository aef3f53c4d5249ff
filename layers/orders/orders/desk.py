"""What the back-office work shares (the console's operations, the sweeper, giving back a second payment): the
order store, the terminals, the bank client of an order's terminal, the lease of a journal entry, and days as
the bank counts them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .bank import OPERATION_LEASE, BankClient, BankFactory
from .calendar import local_day
from .exceptions import BankUnavailableError
from .model import Order
from .store import OrderStore
from .terminals import TerminalsProvider


class BankDesk:
    def __init__(
        self,
        store: OrderStore,
        terminals: TerminalsProvider,
        bank: BankFactory = BankClient,
        *,
        lease: timedelta = OPERATION_LEASE,
    ) -> None:
        """``terminals``: read each time an order's terminal is needed; ``lease``: how long a journal entry may
        belong to a call still under way (then the status settles it)."""
        self.store = store
        self.terminals = terminals
        self._bank = bank
        self.lease = lease

    def bank(self, order: Order) -> BankClient:
        return self._bank(self.terminals().get(order.tpe))

    def _status_capture_day(self, order: Order, reference: str, now: datetime) -> date | None:
        """The day the bank's status says it booked the capture under ``reference`` (``date_remise``); ``None`` when
        it does not say, or does not answer: nothing was sent yet, a status hiccup never becomes an unknown refund."""
        try:
            return self.bank(order).status(reference=reference, total=order.amount, at=now).captured_on
        except BankUnavailableError:
            return None

    def _day(self, order: Order, moment: datetime) -> date:
        """A calendar day as the bank counts it for this order: in its terminal's time zone."""
        return local_day(moment, self.terminals().get(order.tpe).terminal.timezone)
