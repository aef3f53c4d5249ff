"""``make bench``: the kit's cost figures, as ratios and counts measured in one run; exits 1 when a goal is missed.

Each figure is printed as ``name: value`` on its own line (then its goal). Counts are DynamoDB calls, read and
write units, taken through botocore's event hooks on the real code paths against moto (the table as template.yaml
declares it); the bill of one paid order is ``benchmarks/bill.py``'s; timings are ratios measured in the same run,
or, for the local stack, given for information.

    .venv/bin/python benchmarks/bench.py [--quick] [--no-stack]

``--quick`` uses small sizes (for the test suite); ``--no-stack`` skips the figures that start the local stack.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
import timeit
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "layers" / "sealing", ROOT / "layers" / "orders"):
    if str(_path) not in sys.path:  # run as a script from a checkout
        sys.path.insert(0, str(_path))
# moto and boto3 need a region and some credentials: fake ones, never real.
for _name, _value in {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from boto3.dynamodb.types import TypeSerializer  # noqa: E402

from benchmarks.bill import READS, bill_figures, read_units  # noqa: E402
from benchmarks.figures import Figure, sealed_confirmation  # noqa: E402
from benchmarks.reconciliation_load import reconciliation_figures  # noqa: E402
from benchmarks.verify_confirmation import KEY_BYTES, KEY_TEXT, confirmation_body  # noqa: E402
from orders.backoffice import BackOffice  # noqa: E402
from orders.bank import BankClient  # noqa: E402
from orders.model import Order, OrderStatus  # noqa: E402
from orders.payment import create_order, receive_confirmation  # noqa: E402
from orders.store import OrderStore, deadline_shard, order_to_item  # noqa: E402
from orders.terminals import PaymentMode, Terminals  # noqa: E402
from sealing import MerchantKey, Money, parse_form, verify_confirmation  # noqa: E402
from tests.support.aws import create_orders_table, serialised_mock_aws, terminals_config  # noqa: E402
from tests.support.fakebank import FakeBank  # noqa: E402

TABLE = "orders-bench"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ORDER = {
    "amount": "62.73",
    "currency": "EUR",
    "email": "buyer@example.com",
    "billing": {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
}
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@dataclass
class Calls:
    """Every DynamoDB call a client makes, with its parameters, and the read units its reads cost."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    read_units: float = 0.0

    def clear(self) -> None:
        self.made.clear()
        self.read_units = 0.0

    def watch(self, client: Any) -> None:
        def before(event_name: str, params: dict[str, Any], **_: Any) -> None:
            self.made.append((event_name.rsplit(".", 1)[-1], params))

        def after(event_name: str, parsed: dict[str, Any], **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            if operation in READS:
                self.read_units += read_units(operation, self.made[-1][1], parsed)

        client.meta.events.register("before-parameter-build.dynamodb", before)
        client.meta.events.register("after-call.dynamodb", after)


@contextmanager
def moto_store() -> Iterator[tuple[OrderStore, Any, Calls]]:
    """The orders table as template.yaml declares it, in moto, with every call counted."""
    with serialised_mock_aws():
        client = boto3.client("dynamodb")
        create_orders_table(client, TABLE)
        calls = Calls()
        calls.watch(client)
        yield OrderStore(TABLE, client=client), client, calls


def confirmation_round_trips() -> list[Figure]:
    """DynamoDB calls while CGI2's service handles a first acceptance, and a first refusal, of a new order."""
    terminals = Terminals.from_mapping(terminals_config())
    figures = []
    with moto_store() as (store, _, calls):
        for name, code in (("acceptance", "payetest"), ("refusal", "Annulation")):
            order = create_order(ORDER, terminals, store, NOW).order
            calls.clear()
            body = sealed_confirmation(order.sessions[0].bank_reference, code)
            receipt = receive_confirmation(body, lambda: terminals, store, NOW + timedelta(minutes=5))
            if receipt.kind.value != "applied":
                raise AssertionError(f"the {name} was not applied: {receipt}")
            count = len(calls.made)
            figures.append(Figure(f"confirmation_round_trips_{name}", count, "1", count <= 1))
    worst = max(figure.value for figure in figures)
    return [Figure("confirmation_round_trips", worst, "1", worst <= 1), *figures]


def _deferred_orders(client: Any, total: int, due: int) -> set[str]:
    """``total`` authorized deferred orders in the deadline index, ``due`` of them past their deadline."""
    serializer = TypeSerializer()
    due_references: set[str] = set()
    requests = []
    step = max(total // due, 1)
    for number in range(total):
        reference = f"B{number:09d}"
        is_due = number % step == 0 and len(due_references) < due
        if is_due:
            due_references.add(reference)
        order = Order(
            reference=reference, tpe="0900158", mode=PaymentMode.DEFERRED, status=OrderStatus.AUTHORIZED,
            amount=Money(Decimal("10.00"), "EUR"), email="buyer@example.com", language="FR",
            created_at=NOW - timedelta(days=4), checkout_token_hash="0" * 64, version=1,
        )  # fmt: skip
        deadline = NOW - timedelta(hours=1) if is_due else NOW + timedelta(days=3)
        item = order_to_item(order) | {"deadline": deadline.isoformat(), "deadline_shard": deadline_shard(reference)}
        requests.append({"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}})
    for start in range(0, len(requests), 25):
        batch: dict[str, Any] = {TABLE: requests[start : start + 25]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch)["UnprocessedItems"]
    return due_references


def _bank_client(bank: FakeBank) -> Callable[[Any], BankClient]:
    return lambda terminal: BankClient(terminal, bank, sleep=lambda _: None)


def sweeper_reads(sizes: Sequence[int], due: int = 20) -> list[Figure]:
    """Read units one sweep costs (its index queries and the orders they name, read by key) per due order, at
    each table size."""
    terminals = Terminals.from_mapping(terminals_config())
    figures = []
    for size in sizes:
        with moto_store() as (store, client, calls):
            due_references = _deferred_orders(client, size, due)
            office = BackOffice(store, terminals, _bank_client(FakeBank()))
            calls.clear()
            report = office.sweep(NOW)
            if set(report.outcomes) != due_references or report.failures:
                raise AssertionError(f"the sweep at {size} orders missed due orders: {report.failures}")
            ratio = calls.read_units / len(due_references)
            figures.append(Figure(f"sweeper_read_units_per_due_order_{size}", ratio, "<= 1.5", ratio <= 1.5))
    values = {figure.value for figure in figures}
    worst = max(values)
    same = len(values) == 1
    goal = "<= 1.5 and the same at every size"
    return [Figure("sweeper_read_units_per_due_order", worst, goal, worst <= 1.5 and same), *figures]


def _written_key(operation: str, params: dict[str, Any]) -> list[str]:
    if operation == "PutItem":
        return [params["Item"]["pk"]["S"]]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [params["Key"]["pk"]["S"]]
    if operation == "BatchWriteItem":
        return [
            (request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])["pk"]["S"]
            for requests in params["RequestItems"].values()
            for request in requests
        ]
    return [op[next(iter(op))].get("Item", op[next(iter(op))].get("Key"))["pk"]["S"] for op in params["TransactItems"]]


def shared_item_writes(orders: int) -> list[Figure]:
    """Writes per created (and paid, deferred) order to items or index partitions that more than one order
    writes: what would cap order creation at one partition's write rate."""
    terminals = Terminals.from_mapping(terminals_config())
    with moto_store() as (store, _, calls):
        written_by: dict[str, set[str]] = {}
        writes: list[tuple[str, str]] = []
        partitions: Counter[str] = Counter()
        for _ in range(orders):
            calls.clear()
            order = create_order({**ORDER, "tpe": "0900158"}, terminals, store, NOW).order
            body = sealed_confirmation(order.sessions[0].bank_reference, "payetest", "0900158")
            receive_confirmation(body, lambda: terminals, store, NOW + timedelta(minutes=5))
            for operation, params in calls.made:
                if operation in WRITES:
                    for key in _written_key(operation, params):
                        written_by.setdefault(key, set()).add(order.reference)
                        writes.append((key, order.reference))
                if operation == "UpdateItem" and ":shard" in params.get("ExpressionAttributeValues", {}):
                    partitions[params["ExpressionAttributeValues"][":shard"]["S"]] += 1
    shared = sum(1 for key, _ in writes if len(written_by[key]) > 1) / orders
    hottest = max(partitions.values(), default=0) / orders
    return [
        Figure("shared_item_writes_per_order", shared, "0", shared == 0),
        Figure("deadline_index_hottest_partition_share", hottest),
    ]


def verify_vs_minimal(number: int, repeat: int) -> list[Figure]:
    """Verifying one confirmation (``parse_form`` + ``verify_confirmation``) ÷ a minimal faithful verifier
    (``parse_qsl``, sort, join, HMAC-SHA1, ``compare_digest``) on the same body, best of ``repeat``."""
    body = confirmation_body()
    key = MerchantKey(KEY_TEXT)

    def ours() -> object:
        return verify_confirmation(parse_form(body), key)

    def minimal() -> bool:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        mac = next(value for name, value in fields if name == "MAC")
        data = "*".join(f"{name}={value}" for name, value in sorted(f for f in fields if f[0] != "MAC"))
        digest = hmac.new(KEY_BYTES, data.encode("utf-8"), hashlib.sha1).hexdigest()
        return hmac.compare_digest(digest, mac.lower())

    if not minimal():  # both sides must do the real work on valid data
        raise AssertionError("the minimal verifier does not accept the vector")
    ours()
    best: dict[Callable[[], object], float] = {ours: float("inf"), minimal: float("inf")}
    for _ in range(repeat):  # interleaved, so that a change in load affects both alike
        for function in best:
            best[function] = min(best[function], timeit.timeit(function, number=number) / number)
    ratio = best[ours] / best[minimal]
    return [Figure("verify_vs_minimal", ratio, "<= 1.0", ratio <= 1.0)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (the test suite's run)")
    parser.add_argument("--no-stack", action="store_true", help="skip the figures that start the local stack")
    args = parser.parse_args(argv)
    figures = [*confirmation_round_trips()]
    figures += sweeper_reads([200, 1_000] if args.quick else [1_000, 50_000])
    figures += shared_item_writes(20 if args.quick else 200)
    figures += verify_vs_minimal(200 if args.quick else 20_000, 2 if args.quick else 5)
    figures += bill_figures()
    figures += reconciliation_figures(40 if args.quick else 400)
    if not args.no_stack:
        from benchmarks.local_load import stack_figures

        figures += stack_figures(seconds=2 if args.quick else 10, orders=500 if args.quick else 2000)
    for figure in figures:
        print(figure.line(), flush=True)
    missed = [figure.name for figure in figures if not figure.met]
    if missed:
        print(f"goals missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
