"""Reconciliation with the bank: the books against the bank's status, and against its files of payments.

Every order changed on the days checked (its last write, ``ChangedIndex``) and every order of the recent order
days still awaiting payment is compared with what the bank's status (``etatpaiement``) says of it. Two
differences are repaired, each in one conditional write the stream turns into the usual events:

- a missed confirmation: an order still ``awaiting_payment`` that the bank shows paid under one of its sessions'
  references. Only the sessions that could have been paid unconfirmed are asked: those the bank heard of (form
  served, last confirmation) since the first day the run reads, and that it can take no more
  (``sessions.session_may_be_live``). It is recorded as that payment (an attempt whose id is
  ``status:<bank reference>``, so a second run, or the late
  confirmation itself, changes nothing more);
- what was done in the bank's dashboard (a capture, a cancel, a refund): recorded ``applied_outside_api`` or
  ``applied_by_bank``, as the console and the sweeper already do;
- a second payment: another session of an order awaiting payment the bank shows paid too, recorded as a second
  payment (as CGI2 records a second acceptance) and given back off the stream; and, for an order holding second
  payments not given back, what the bank did of them (``orders.giveback``: a second authorisation the bank captured
  is recorded captured and refunded, one it cancelled is given back).

Anything else that differs is reported, never overwritten. The bank's files (its XML file of a day's captured
payments, its CSV export of payments: ``sealing.read_bank_file``) are compared with the books too, summed per
order and per session, and only reported.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sealing import (
    BankFile,
    BankFileError,
    FilePayment,
    Money,
    PaymentState,
    SealingError,
    StatusAnswer,
    read_bank_file,
)

from .actors import RECONCILIATION
from .backoffice import BackOffice
from .bank import BankClient, BankFactory
from .calendar import local_day, zone
from .clients import LazyClient
from .daybook import Entry, booked_on, entries_of
from .exceptions import (
    ConcurrentUpdateError,
    OperationInProgressError,
    OrderNotFoundError,
    OrdersError,
    ReportUnavailableError,
)
from .giveback import GiveBacks
from .lifecycle import Decision, Verdict, acceptance, instalment_collected, known_payment, second_payment
from .model import GIVEN_BACK, Attempt, Order, OrderStatus, PaymentSession
from .sessions import last_activity, order_reference_of, session_may_be_live
from .store import OrderStore, split_months
from .terminals import PaymentMode, TerminalsProvider

Fetch = Callable[..., tuple[list[Order], dict[str, Any] | None]]
MISSED = "missed_confirmation"
DASHBOARD = "done_at_the_bank"
STATUS_DIFFERS = "status_differs"
PAID_AMOUNT_DIFFERS = "paid_amount_differs"
FILE_UNKNOWN = "captured_unknown_order"
FILE_DIFFERS = "captured_amount_differs"
FILE_UNREADABLE = "unreadable_file"
SECOND_PAYMENT = "second_payment"


@dataclass(frozen=True)
class Difference:
    reference: str
    kind: str
    detail: str
    repaired: bool

    def as_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "kind": self.kind, "detail": self.detail, "repaired": self.repaired}


def _never() -> bool:
    return False


@dataclass
class Report:
    source: str  # schedule | console | the imported file's name
    started_at: datetime
    days: list[str] = field(default_factory=list)
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # reference -> why it could not be checked

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "days": self.days,
            "checked": self.checked,
            "differences": [d.as_json() for d in self.differences],
            "repaired": sum(1 for d in self.differences if d.repaired),
            "failures": self.failures,
        }


@dataclass(frozen=True)
class Plan:
    """What one run checks: its source and time, the days it reads, the first of them (``since``: the sessions of
    an order awaiting payment asked about are those active since that day), and the orders, in the order read."""

    source: str
    started_at: datetime
    days: tuple[str, ...]
    since: date | None
    references: tuple[str, ...]

    def report(self) -> Report:
        """The run's report before anything is checked."""
        return Report(self.source, self.started_at, list(self.days))


class Reconciler:
    def __init__(self, store: OrderStore, terminals: TerminalsProvider, bank: BankFactory = BankClient) -> None:
        self.store = store
        self.terminals = terminals
        self.office = BackOffice(store, terminals, bank)
        self.givebacks = GiveBacks(store, terminals, bank)

    # --- against the bank's status ----------------------------------------------------------------------

    def run(
        self, days: Iterable[date], now: datetime, source: str, awaiting_days: Iterable[date] | None = None
    ) -> Report:
        """Check with the bank's status every order of ``plan(days, now, source, awaiting_days)``, in one go."""
        plan = self.plan(days, now, source, awaiting_days)
        report = plan.report()
        self.check_references(plan, plan.references, report)
        return report

    def plan(
        self, days: Iterable[date], now: datetime, source: str, awaiting_days: Iterable[date] | None = None
    ) -> Plan:
        """What a run checks: every order changed on ``days`` (UTC days of their last write), every order of
        ``awaiting_days`` (order days; ``days`` when not given) still awaiting payment, and every split payment
        with an instalment falling due on one of ``awaiting_days`` that the bank confirmed nothing of. Each is read
        through an index that holds only those orders (split payments: a year of order months), and listed once,
        in the order read."""
        changed = list(days)
        awaiting = changed if awaiting_days is None else list(awaiting_days)
        since = min([*changed, *awaiting], default=None)
        found: dict[str, None] = {}
        for fetch, wanted in self._sources(changed, awaiting):
            for order in _pages(fetch):
                if order.reference not in found and wanted(order):
                    found[order.reference] = None
        return Plan(source, now, tuple(day.isoformat() for day in changed), since, tuple(found))

    def check_references(
        self, plan: Plan, references: Sequence[str], report: Report, out_of_time: Callable[[], bool] = _never
    ) -> int:
        """Check the orders ``references`` (of ``plan``) in their order into ``report``, until ``out_of_time()``
        says the time left is only enough to keep what was done (asked before each order but the first): how many
        were checked. An order that cannot be read or asked about is a failure of the report, not an error."""
        for number, reference in enumerate(references):
            if number and out_of_time():
                return number
            try:
                self.check(self.store.get(reference), plan.started_at, report, plan.since)
            except (OrdersError, SealingError) as exc:
                report.failures[reference] = f"{type(exc).__name__}: {exc}"
        return len(references)

    def _sources(self, changed: list[date], awaiting: list[date]) -> Iterator[tuple[Fetch, Callable[[Order], bool]]]:
        """The index queries a run reads, each with which of its orders to check."""
        for day in changed:
            yield partial(self.store.orders_changed_on, day.isoformat(), limit=100), _every
        for day in awaiting:
            status = OrderStatus.AWAITING_PAYMENT.value
            yield partial(self.store.orders_of_day, day.isoformat(), limit=100, status=status), _every
        if awaiting:
            due_days = frozenset(awaiting)

            def instalment_due(order: Order) -> bool:
                return any(day in due_days for day in _unconfirmed_due_days(order))

            for month in split_months(min(awaiting), max(awaiting)):
                yield partial(self.store.split_payments_of_month, month, limit=100), instalment_due

    def check(self, order: Order, now: datetime, report: Report, since: date | None = None) -> None:
        """Compare ``order`` with the bank's status; an order awaiting payment by those of its sessions that could
        have been paid since ``since`` (the first day the run reads; ``None``: any time)."""
        if order.pending is not None:
            return  # an operation's journal entry: the console and the sweeper settle it with the bank
        if order.status is OrderStatus.AWAITING_PAYMENT:
            self._awaiting(order, now, report, since)
            return
        report.checked += 1
        self._paid(order, now, report)
        if any(order.keeps_giving_back(payment) for payment in order.second_payments):
            self._second_payments(order.reference, now, report)

    def _paid(self, order: Order, now: datetime, report: Report) -> None:
        """Compare a paid order's books with the bank's status of its paid session; record what the bank did."""
        bank = self.office.bank(order)
        status = bank.status(reference=order.bank_payment_reference, total=order.amount, at=now)
        if order.instalments:
            order = self._instalments(order, status, now, report)
        found = self.office.bank_actions(order, status, now)
        if found is not None:
            first, *more = found.records
            self.store.finish_operation(order, first, found.books, also=more)
            report.differences.append(Difference(order.reference, DASHBOARD, f"recorded {found.describe()}", True))
            return
        differs = _differs(order, status)
        if differs:
            report.differences.append(Difference(order.reference, STATUS_DIFFERS, differs, False))

    def _awaiting(self, order: Order, now: datetime, report: Report, since: date | None) -> None:
        """Ask the bank's status of each session that could have been paid and not confirmed: one the bank heard
        of since the window began, whose page is no longer live. One older was asked by the runs of its days; one
        live may still be paid, and its confirmation come."""
        timezone = self.terminals().timezone(order.tpe)
        start = datetime.combine(since, time.min, zone(timezone)) if since is not None else None
        every = order.sessions or (PaymentSession(0, order.reference, order.created_at),)
        sessions = [session for session in every if could_have_been_paid(order, session, start, now)]
        if not sessions:
            return
        report.checked += 1
        bank = self.office.bank(order)
        recorded = False
        for session in sessions:
            status = bank.status(reference=session.bank_reference, total=order.amount, at=now)
            if status.state is not PaymentState.PAID:
                continue
            if not recorded:
                report.differences.append(self._missed(order, session, status, now))
                recorded = True
                continue
            # Once paid, the order is no longer asked about its sessions: another one paid is recorded now.
            found = self._second_found(order.reference, session, status, now)
            if found is not None:
                report.differences.append(found)

    def _second_found(
        self, reference: str, session: PaymentSession, status: StatusAnswer, now: datetime
    ) -> Difference | None:
        """Record another session the bank shows paid as a second payment of the order (paid by the first), as CGI2
        records a second acceptance: the stream's give-back function gives it back. ``None`` when the order holds it
        already (its confirmation came meanwhile)."""
        order = self.store.get(reference)
        said = f"the bank shows {session.bank_reference} paid too ({status.authorisation_number})"
        if order.status is OrderStatus.AWAITING_PAYMENT:  # the first was not recorded: neither is this one
            detail = f"{said}: a second payment of an order not recorded paid; give it back in the bank's dashboard"
            return Difference(reference, STATUS_DIFFERS, detail, False)
        if known_payment(order, session.bank_reference, status.authorisation_number):
            return None
        source = f"status:{session.bank_reference}"
        attempt = _from_status(order, "paiement", session.bank_reference, source, now, status.authorisation_number)
        decision = second_payment(order, attempt)
        paid = status.collected if order.mode is PaymentMode.IMMEDIATE else status.remaining or status.collected
        if decision.second_payment is not None and paid is not None and paid != decision.second_payment.amount:
            detail = f"{said}, {paid} where a payment of the order is {decision.second_payment.amount}: not recorded"
            return Difference(reference, PAID_AMOUNT_DIFFERS, detail, False)
        try:
            self.store.apply(order, decision)
        except ConcurrentUpdateError:
            return Difference(
                reference, SECOND_PAYMENT, f"{said}; the order changed meanwhile: checked next run", False
            )
        return Difference(reference, SECOND_PAYMENT, f"{said}: recorded as a second payment, given back", True)

    def _second_payments(self, reference: str, now: datetime, report: Report) -> None:
        """Ask the bank what it did of the order's second payments not given back, and give back what is due
        (``GiveBacks.give_back``: once each, through its journal)."""
        try:
            outcomes = self.givebacks.give_back(reference, now, RECONCILIATION)
        except OperationInProgressError:
            return  # another process is giving one back: its outcome is its own
        for bank_reference, outcome in outcomes.items():
            repaired = outcome.startswith(GIVEN_BACK)
            report.differences.append(Difference(reference, SECOND_PAYMENT, f"{bank_reference}: {outcome}", repaired))

    def _missed(self, order: Order, session: PaymentSession, status: StatusAnswer, now: datetime) -> Difference:
        """Record the payment the bank shows under ``session`` whose confirmation never came (for a split payment,
        its first instalment; later ones the bank collected too are recorded next, each on its own)."""
        paid = status.collected if order.mode is PaymentMode.IMMEDIATE else status.remaining or status.collected
        terminal = self.terminals().get(order.tpe)
        if order.instalments and order.mode is PaymentMode.IMMEDIATE:
            first = order.instalments[0].amount
            today = local_day(now, terminal.terminal.timezone)
            # Later instalments confirmed before this first one (``captured`` while awaiting) are booked already.
            booked = first.amount + order.captured
            later = None if paid is None or paid.currency != order.currency else paid.amount - booked
            expected = f"{first} or more of its instalments"
            matches = later is not None and _collected_instalments(order, later, today) is not None
        else:
            expected, matches = str(order.amount), paid is None or paid == order.amount
        if not matches:
            detail = f"the bank shows {session.bank_reference} paid {paid}, the order is {expected}: not recorded"
            return Difference(order.reference, PAID_AMOUNT_DIFFERS, detail, False)
        source = f"status:{session.bank_reference}"
        attempt = _from_status(order, "paiement", session.bank_reference, source, now, status.authorisation_number)
        day = local_day(now, terminal.terminal.timezone)
        enters, changes = acceptance(
            order, terminal, session.bank_reference, status.authorisation_number, now, day, source
        )
        taken = status.captured_on
        if order.mode is PaymentMode.IMMEDIATE and not order.instalments and taken is not None and taken != day:
            changes["paid_on"] = taken  # the books count it on the day the bank took it, not on today's
        try:
            self.store.apply(order, Decision(Verdict.ACCEPTED, order.status, enters, attempt, changes=changes))
        except ConcurrentUpdateError:
            detail = f"the bank shows {session.bank_reference} paid; the order changed meanwhile: checked next run"
            return Difference(order.reference, MISSED, detail, False)
        detail = f"the bank shows {session.bank_reference} paid ({status.authorisation_number}): recorded"
        if order.instalments:
            more = Report(MISSED, now)
            self._instalments(self.store.get(order.reference), status, now, more)
            detail += "".join(f"; {d.detail}" for d in more.differences)
        return Difference(order.reference, MISSED, detail, True)

    def _instalments(self, order: Order, status: StatusAnswer, now: datetime, report: Report) -> Order:
        """Record the later instalments the bank's status shows collected (``montantrecouvre`` above the books)
        whose ``paiement_pfN`` never came: the instalments fallen due and confirmed nothing of, in their order,
        that add up to the difference; the order as it is then. Anything else is left to ``_differs``."""
        collected = status.collected
        if collected is None or collected.currency != order.currency or not order.books_instalments:
            return order
        timezone = self.terminals().get(order.tpe).terminal.timezone
        numbers = _collected_instalments(order, collected.amount - order.captured, local_day(now, timezone))
        if not numbers:
            return order
        recorded = []
        for number in numbers:
            due = order.instalments[number - 1].due
            # Collected on its day; the bank's status dates the last capture when it says so.
            day = status.captured_on if number == numbers[-1] and status.captured_on else due
            source = f"status:{order.bank_payment_reference}:{number}"
            reference = order.bank_payment_reference
            attempt = _from_status(order, f"paiement_pf{number}", reference, source, now, instalment=number)
            enters, changes = instalment_collected(order, number, now, day, "", source)
            decision = Decision(Verdict.INSTALMENT, order.status, enters, attempt, changes=changes)
            try:
                self.store.apply(order, decision)
            except ConcurrentUpdateError:
                detail = f"the bank collected instalment {number}; the order changed meanwhile: checked next run"
                report.differences.append(Difference(order.reference, MISSED, detail, False))
                return self.store.get(order.reference)
            order = self.store.get(order.reference)
            recorded.append(f"instalment {number} ({order.instalments[number - 1].amount}, {day.isoformat()})")
        detail = f"the bank collected {', '.join(recorded)} of {order.bank_payment_reference}: recorded"
        report.differences.append(Difference(order.reference, MISSED, detail, True))
        return order

    # --- against the bank's files: its daily XML of captured payments, its CSV export of payments --------------

    def import_file(self, data: bytes, now: datetime, source: str) -> Report:
        """Compare a bank's file (XML or CSV, told by its content) with the books: report, never change. A file
        the bank could not have written is reported as ``unreadable_file``, saying where it is wrong."""
        try:
            bank_file = read_bank_file(data)
        except BankFileError as exc:
            report = Report(source, now)
            report.differences.append(Difference("", FILE_UNREADABLE, str(exc), False))
            return report
        return self.compare_file(bank_file, now, source)

    def compare_file(self, bank_file: BankFile, now: datetime, source: str) -> Report:
        """What the bank collected, summed per order and per session (bank reference), against the books.

        Each day the file says it collected on (the XML file's own day, the CSV's ``date_recouvrement``) is
        compared both ways with the captures the books hold for that day and the file's terminal: every order
        whose sums differ is reported, in words (the day, the order, the bank's sum and the books', session by
        session). Payments the file gives no day for are compared with all the order's captures: the bank must
        not hold more than the books. Only collected payments count (the XML's lines, the CSV's ``PA`` lines
        with a day)."""
        report = Report(source, now)
        collected = [payment for payment in bank_file.payments if payment.collected]
        days = {payment.collected_on for payment in collected if payment.collected_on is not None}
        days |= {bank_file.day} if bank_file.day is not None else set()
        tpes = {bank_file.tpe} if bank_file.tpe else {payment.tpe for payment in bank_file.payments}
        owners: dict[str, Order | None] = {}
        books = booked_on(self.store, self.terminals, days, "captures")
        for day in sorted(days):
            report.days.append(day.isoformat())
            of_day = [payment for payment in collected if payment.collected_on == day]
            held = [entry for entry in books[day] if not tpes or entry.tpe in tpes]
            self._compare_day(day, of_day, held, tpes, owners, report)
        undated = [payment for payment in collected if payment.collected_on is None]
        if undated:
            self._compare_undated(undated, owners, report)
        return report

    def _bank_sums(
        self, payments: list[FilePayment], owners: dict[str, Order | None], report: Report, day: date | None
    ) -> tuple[dict[str, Sums], dict[str, Order]]:
        """The bank's sums by order reference (sessions inside), and the orders; an unknown reference is reported."""
        sums: dict[str, Sums] = {}
        unknown: dict[str, Sums] = {}
        orders: dict[str, Order] = {}
        for payment in payments:
            if payment.reference not in owners:
                owners[payment.reference] = self._owner(payment.reference)
            order = owners[payment.reference]
            if order is None:
                unknown.setdefault(payment.reference, Sums()).add(payment.reference, payment.amount)
                continue
            orders[order.reference] = order
            sums.setdefault(order.reference, Sums()).add(payment.reference, payment.amount)
        when = f"on {day.isoformat()} " if day else ""
        for reference, found in unknown.items():
            report.checked += 1
            detail = f"{when}the bank collected {found.total()} under {reference}: no such order"
            report.differences.append(Difference(reference, FILE_UNKNOWN, detail, False))
        return sums, orders

    def _compare_day(
        self,
        day: date,
        payments: list[FilePayment],
        entries: list[Entry],
        tpes: set[str],
        owners: dict[str, Order | None],
        report: Report,
    ) -> None:
        """The bank's sums of ``day`` against the books' ``entries`` of that day (the file's terminals)."""
        bank, orders = self._bank_sums(payments, owners, report, day)
        held: dict[str, Sums] = {}
        for entry in entries:
            held.setdefault(entry.reference, Sums()).add(entry.bank_reference, entry.amount)
        terminals = self.terminals()
        for reference, order in orders.items():  # an order older than the books' window is read on its own
            if reference not in held:
                for entry in entries_of(order, terminals, "captures"):
                    if entry.day == day and (not tpes or entry.tpe in tpes):
                        held.setdefault(reference, Sums()).add(entry.bank_reference, entry.amount)
        for reference in [*bank, *sorted(set(held) - set(bank))]:
            report.checked += 1
            said, books = bank.get(reference, Sums()), held.get(reference, Sums())
            if not said.same_as(books):
                said_text = f"{said.total()} for {reference}{said.sessions()}"
                detail = f"on {day.isoformat()} the bank collected {said_text}, the books {books}"
                report.differences.append(Difference(reference, FILE_DIFFERS, detail, False))

    def _compare_undated(self, payments: list[FilePayment], owners: dict[str, Order | None], report: Report) -> None:
        bank, orders = self._bank_sums(payments, owners, report, None)
        terminals = self.terminals()
        for reference, said in bank.items():
            report.checked += 1
            books = Sums()
            for entry in entries_of(orders[reference], terminals, "captures"):
                books.add(entry.bank_reference, entry.amount)
            if said.exceeds(books):
                detail = f"the bank collected {said.total()} for {reference}{said.sessions()}, the books {books} in all"
                report.differences.append(Difference(reference, FILE_DIFFERS, detail, False))

    def _owner(self, bank_reference: str) -> Order | None:
        """The order a bank reference is a session of (an older order's own reference is its bank's too)."""
        for reference in (order_reference_of(bank_reference), bank_reference):
            if not reference:
                continue
            try:
                order = self.store.get(reference)
            except OrderNotFoundError:
                continue
            if order.reference == bank_reference or order.session(bank_reference) is not None:
                return order
        return None


@dataclass
class Sums:
    """Amounts collected for one order, by session (bank reference) and currency; zeros count for nothing."""

    by_session: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, bank_reference: str, amount: Money) -> None:
        session = self.by_session.setdefault(bank_reference, {})
        session[amount.currency] = session.get(amount.currency, Decimal(0)) + amount.amount

    def held(self) -> dict[str, dict[str, Decimal]]:
        """The sums that are not zero, by session and currency."""
        held = {ref: {cur: n for cur, n in sums.items() if n} for ref, sums in self.by_session.items()}
        return {ref: sums for ref, sums in sorted(held.items()) if sums}

    def same_as(self, other: Sums) -> bool:
        return self.held() == other.held()

    def exceeds(self, other: Sums) -> bool:
        """Whether some session holds more of some currency here than in ``other``."""
        theirs = other.held()
        mine = self.held()
        return any(
            n > theirs.get(ref, {}).get(cur, Decimal(0)) for ref, sums in mine.items() for cur, n in sums.items()
        )

    def total(self) -> str:
        """``125.46 EUR`` (``nothing`` when nothing was collected)."""
        totals: dict[str, Decimal] = {}
        for sums in self.held().values():
            for currency, amount in sums.items():
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        return _amounts(totals) or "nothing"

    def sessions(self) -> str:
        """`` (62.73 EUR under <session>, 62.73 EUR under <session>)``, or nothing."""
        parts = [f"{_amounts(sums)} under {reference}" for reference, sums in self.held().items()]
        return f" ({', '.join(parts)})" if parts else ""

    def __str__(self) -> str:
        return self.total() + self.sessions()


def _amounts(by_currency: dict[str, Decimal]) -> str:
    return " + ".join(str(Money(amount, currency)) for currency, amount in sorted(by_currency.items()))


def could_have_been_paid(order: Order, session: PaymentSession, since: datetime | None, now: datetime) -> bool:
    """Whether the bank may hold a payment under ``session`` that no confirmation brought: the session was active
    since ``since`` and its page is no longer live (the buyer could still pay on a live one, and be confirmed)."""
    if session_may_be_live(order, session, now):
        return False
    return since is None or last_activity(order, session) >= since


def _differs(order: Order, status: StatusAnswer) -> str:
    """What the bank's status shows that the books cannot be brought to ("" when nothing)."""
    found = []
    if status.state.failed and order.captured > 0:  # an authorisation not captured yet may show as awaiting
        found.append(f"the bank's state is {status.state.value} for a {order.status.value} order")
    compared = (("captured", status.collected, order.captured), ("refunded", status.refunded, order.refunded))
    for name, said, books in compared:
        if said is not None and (said.currency != order.currency or said.amount != books):
            found.append(f"the bank shows {said} {name}, the books {Money(Decimal(books), order.currency)}")
    return "; ".join(found)


def _from_status(
    order: Order,
    code: str,
    bank_reference: str,
    source: str,
    now: datetime,
    authorisation_number: str = "",
    instalment: int | None = None,
) -> Attempt:
    """The attempt that records what the bank's status showed, under the id ``source`` (``status:...``): a second
    run, or the late confirmation itself, adds nothing more."""
    return Attempt(
        return_code=code,
        received_at=now,
        reason="recorded from the bank's status: its confirmation never came",
        authorisation_number=authorisation_number,
        amount=order.amount.wire(),
        instalment=instalment,
        confirmation_id=source,
        bank_reference=bank_reference,
    )


def _collected_instalments(order: Order, amount: Decimal, today: date) -> tuple[int, ...] | None:
    """The later instalments that make up ``amount`` collected beyond the books: those fallen due by ``today`` that
    the bank confirmed nothing of, taken in their order as the bank collects them (``()`` for nothing; ``None``
    when no such run of them adds up to it)."""
    if amount == 0:
        return ()
    total, numbers = Decimal(0), []
    for number, instalment in enumerate(order.instalments[1:], 2):
        if instalment.due > today or order.instalment_outcome(number) is not None:
            continue
        total += instalment.amount.amount
        numbers.append(number)
        if total == amount:
            return tuple(numbers)
    return None


def _every(order: Order) -> bool:
    return True


def _unconfirmed_due_days(order: Order) -> list[date]:
    """The due days of a split payment's later instalments the bank has confirmed nothing of yet."""
    return [i.due for n, i in enumerate(order.instalments, 1) if n > 1 and order.instalment_outcome(n) is None]


def _pages(fetch: Fetch) -> Iterator[Order]:
    """Every order of a paged query, page by page (``fetch(start_key=...)`` answers a page and the next key)."""
    start: dict[str, Any] | None = None
    while True:
        orders, start = fetch(start_key=start)
        yield from orders
        if not start:
            return


def changed_days(now: datetime) -> list[date]:
    """The UTC days a daily run reads changed orders of: yesterday and today, so that what changed after the
    previous run (yesterday, later than it) is not missed."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=1), today]


def reconciliation_days(now: datetime, timezone: str, back: int = 1) -> list[date]:
    """Today and the ``back`` days before it, in the terminals' time zone (orders are filed by order day)."""
    today = local_day(now, timezone)
    return [today - timedelta(days=n) for n in range(back, -1, -1)]


def new_report_key(report: Report) -> str:
    """Where a report is kept in the bucket: by day, then time and source."""
    moment = report.started_at
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.source)[:60]
    return f"{REPORTS}{moment:%Y-%m-%d}/{moment:%H%M%S}-{safe}-{secrets.token_hex(3)}.json"


REPORTS = "reconciliation/"
LATEST_REPORT_DAYS = 7  # the days (UTC, of the reports' keys) the latest reports are looked for
LATEST_REPORTS = 10


@dataclass(frozen=True)
class KeptReport:
    """A report as the bucket keeps it, read back: where it is, and its JSON (``Report.as_json``)."""

    key: str
    data: dict[str, Any]

    @property
    def differences(self) -> list[dict[str, Any]]:
        found = self.data.get("differences")
        return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []

    @property
    def unrepaired(self) -> int:
        return sum(1 for d in self.differences if not d.get("repaired"))


def latest_reports(
    bucket: ReportBucket, now: datetime, days: int = LATEST_REPORT_DAYS, most: int = LATEST_REPORTS
) -> list[KeptReport]:
    """The ``most`` newest reports of the ``days`` UTC days to ``now``, newest first: one listing per day, one read
    per report (at most ``days + most`` S3 calls)."""
    today = now.astimezone(UTC).date()
    keys: list[str] = []
    for back in range(days):
        keys.extend(bucket.keys(f"{REPORTS}{today - timedelta(days=back):%Y-%m-%d}/"))
        if len(keys) >= most:
            break
    newest = sorted((key for key in keys if key.endswith(".json")), reverse=True)[:most]
    kept = []
    for key in newest:
        data = bucket.get_json(key)
        kept.append(KeptReport(key, data if isinstance(data, dict) else {}))
    return kept


class ReportBucket:
    """The S3 bucket of reconciliation reports (and of the bank's files the merchant uploads under imports/)."""

    client: LazyClient[Any] = LazyClient("s3")

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    def keep(self, report: Report) -> str:
        key = new_report_key(report)
        self.put_json(key, report.as_json())
        return key

    def put_json(self, key: str, data: Any, *, only_if_new: bool = False) -> bool:
        """Write ``data`` as JSON at ``key``; with ``only_if_new``, only when nothing is there yet (S3's conditional
        write): whether it was written."""
        extra = {"IfNoneMatch": "*"} if only_if_new else {}
        try:
            self.client.put_object(
                Bucket=self.name,
                Key=key,
                Body=json.dumps(data, indent=2).encode(),
                ContentType="application/json",
                **extra,
            )
        except ClientError as exc:
            if only_if_new and exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise ReportUnavailableError(f"S3 PutObject {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise ReportUnavailableError(f"S3 PutObject {key} failed: {exc}") from exc
        return True

    def get_json(self, key: str) -> Any:
        return json.loads(self.read(key))

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix``, in order."""
        found: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
                found.extend(str(item["Key"]) for item in page.get("Contents") or [])
        except (ClientError, BotoCoreError) as exc:
            raise ReportUnavailableError(f"S3 ListObjectsV2 {prefix} failed: {exc}") from exc
        return found

    def read(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise ReportUnavailableError(f"S3 GetObject {key} failed: {exc}") from exc
