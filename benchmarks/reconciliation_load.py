"""``reconciliation_seconds_1m_month``: one day's reconciliation at 1,000,000 orders a month, modelled from the
bank status calls the real code makes for a synthetic day, against a bank answering in 150 ms, with the parts
checked at once that the template allows.

The synthetic days (``per_day`` orders on each of the eight order days a run reads, at a steady rate over the
day; the run at the schedule's 05:30 UTC): nine orders in ten paid by their first session, one in ten never paid
(one in five of those tried twice: two sessions), one in twenty a split payment in three monthly instalments; and
the split payments of one and two months before, whose instalment falls due today unconfirmed. The run is planned
(``Reconciler.plan``) and its parts checked (``FannedOutRuns.check``) on moto, against the fake bank, every status
call counted. Then, scaled to 33,333 orders a day:

    seconds = max(calls * 0.150 / concurrency, the longest part's calls * 0.150)

the day's calls spread over the parts running at once, and never less than its longest part. Planning reads the
indexes and asks the bank nothing: it is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import boto3

from benchmarks.figures import Figure
from orders.bank import BankClient
from orders.model import Order, OrderStatus, PaymentSession
from orders.reconciliation import Reconciler, ReportBucket, changed_days, reconciliation_days
from orders.reconciliation_runs import PART_SIZE, FannedOutRuns, Part, PartQueue
from orders.sessions import bank_reference
from orders.store import OrderStore
from orders.terminals import PaymentMode, Terminals
from sealing import Instalment, Money
from stacktools.template import ROOT, Template
from tests.support.aws import create_orders_table, serialised_mock_aws, terminals_config
from tests.support.fakebank import Account, FakeBank

ORDERS_PER_DAY = 1_000_000 / 30
BANK_SECONDS = 0.150
GOAL_SECONDS = 300
RUN_AT = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)  # the schedule's default, cron(30 5 * * ? *)
PARIS = "Europe/Paris"
AMOUNT = Money(Decimal("60.00"), "EUR")


def template_concurrency() -> int:
    """The parts the template lets run at once: the parts' event source's maximum concurrency (its parameter's
    default)."""
    template = Template.load(ROOT / "template.yaml")
    (event,) = template.properties_of("ReconciliationPartsFunction")["Events"].values()
    bound = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    return int(template.parameters[bound["Ref"]]["Default"])


@dataclass
class Day:
    """A synthetic day's table and bank, and what a run's parts asked."""

    store: OrderStore
    bank: FakeBank
    calls_by_part: list[int] = field(default_factory=list)


def _order(reference: str, at: datetime, status: OrderStatus, sessions: int = 1, **changes: Any) -> Order:
    every = tuple(
        PaymentSession(n, bank_reference(reference, n), at + timedelta(minutes=50 * n)) for n in range(sessions)
    )
    return Order(
        reference=reference, tpe="0900157", mode=PaymentMode.IMMEDIATE, status=status, amount=AMOUNT,
        email="buyer@example.com", language="FR", checkout_token_hash="0" * 64, created_at=at, sessions=every,
        **changes,
    )  # fmt: skip


def _schedule(day: date) -> tuple[Instalment, ...]:
    return tuple(Instalment(day + timedelta(days=30 * n), Money(Decimal("20.00"), "EUR")) for n in range(3))


def _paid(day: Day, reference: str, at: datetime, instalments: tuple[Instalment, ...] = ()) -> None:
    captured = instalments[0].amount.amount if instalments else AMOUNT.amount
    order = _order(reference, at, OrderStatus.PAID, captured=captured, paid_at=at, instalments=instalments)
    day.store.create(order)
    day.bank.accounts[bank_reference(reference, 0)] = Account(AMOUNT.amount, "EUR", captured=captured)


def synthetic_days(day: Day, per_day: int) -> None:
    """Eight order days (in Paris) up to RUN_AT's, ``per_day`` orders each (fewer on the run's own day, up to the
    run), and the split payments with an instalment due that day."""
    today = RUN_AT.astimezone(ZoneInfo(PARIS)).date()
    for back in range(8):
        order_day = today - timedelta(days=back)
        for number in range(per_day):
            local = datetime.combine(order_day, time(), ZoneInfo(PARIS))
            at = (local + timedelta(days=number / per_day)).astimezone(UTC)
            if at >= RUN_AT:
                break
            reference = f"R{back}{number:07d}"
            if number % 10 == 0:  # never paid; one in five tried twice
                day.store.create(_order(reference, at, OrderStatus.AWAITING_PAYMENT, 1 + (number // 10) % 5 // 4))
            else:
                _paid(day, reference, at, _schedule(order_day) if number % 20 == 5 else ())
    for months in (1, 2):  # their instalment falls due today; the bank has not confirmed it yet
        ordered = today - timedelta(days=30 * months)
        at = datetime.combine(ordered, time(10), UTC)
        for number in range(max(per_day // 20, 1)):
            _paid(day, f"S{months}{number:07d}", at, _schedule(ordered))


def count_calls(per_day: int, part_size: int = PART_SIZE) -> Day:
    """The synthetic days on moto, one run planned at RUN_AT and each of its parts checked in turn: the bank's
    status calls of each part."""
    with serialised_mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-3")
        s3 = boto3.client("s3", region_name="eu-west-3")
        sqs = boto3.client("sqs", region_name="eu-west-3")
        create_orders_table(dynamodb, "orders-reconciliation-bench")
        s3.create_bucket(Bucket="reports-bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        queue = PartQueue(sqs.create_queue(QueueName="parts-bench")["QueueUrl"], client=sqs)
        day = Day(OrderStore("orders-reconciliation-bench", client=dynamodb), FakeBank())
        synthetic_days(day, per_day)
        terminals = Terminals.from_mapping(terminals_config())
        bank = day.bank
        reconciler = Reconciler(day.store, terminals, lambda terminal: BankClient(terminal, bank, sleep=lambda _: None))
        runs = FannedOutRuns(reconciler, ReportBucket("reports-bench", client=s3), queue, part_size)
        awaiting = reconciliation_days(RUN_AT, PARIS, 7)
        started = runs.start(reconciler.plan(changed_days(RUN_AT), RUN_AT, "schedule", awaiting))
        while messages := sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                before = len(bank.calls)
                runs.check(Part.from_message(message["Body"]), lambda: False)
                day.calls_by_part.append(len(bank.calls) - before)
                sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
        if not s3.list_objects_v2(Bucket="reports-bench", Prefix=started.report_key).get("KeyCount"):
            raise AssertionError("the run's parts were checked but its report was not assembled")
    return day


def reconciliation_figures(per_day: int, concurrency: int | None = None) -> list[Figure]:
    """``reconciliation_seconds_1m_month`` and what it is made of."""
    day = count_calls(per_day)
    at_once = template_concurrency() if concurrency is None else concurrency
    scale = ORDERS_PER_DAY / per_day
    calls = sum(day.calls_by_part) * scale
    seconds = max(calls * BANK_SECONDS / at_once, max(day.calls_by_part, default=0) * BANK_SECONDS)
    return [
        Figure("reconciliation_seconds_1m_month", seconds, f"<= {GOAL_SECONDS}", seconds <= GOAL_SECONDS),
        Figure("reconciliation_status_calls_1m_day", round(calls)),
        Figure("reconciliation_concurrency", at_once),
    ]
