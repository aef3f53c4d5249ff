"""Orders in DynamoDB: one item per order, every change a conditional write.

Keys: ``pk = ORDER#<reference>``, ``sk = ORDER``. Sparse index attributes: ``order_day``/``created_at``
(``DateIndex``, every order), ``changed_day``/``pk`` (``ChangedIndex``: the UTC day of the order's last write but
the checkout's, which only opens a payment session or records its form served again),
``deadline_shard``/``deadline`` (``DeadlineIndex``, only while a deferral is open), ``split_month``/``pk``
(``SplitPaymentIndex``: split payments, by order month), ``giveback_due``/``pk`` (``GiveBackIndex``, only
while a second payment is still to give back, or a second authorisation the bank would not cancel is watched) and
``attention``/``attention_at`` (``AttentionIndex``: an order from the moment any writer appends a review until a
mark covers its reviews, at its latest review's time; a confirmation that matched no order until it is marked
reviewed).
Each index projects its keys only (``DateIndex`` also the status its
readers filter on), so that a write changing neither costs it nothing; its readers read the orders it names by key
(``BatchGetItem``). Confirmations that match no order are kept as
``UNMATCHED#<tpe>#<reference>`` items; console requests sent with an ``Idempotency-Key`` as
``IDEMPOTENCY#<key>`` items, and the e-mails an order event sent as ``MAIL#<reference>`` items sorted by
``<event id>#<recipient>`` (both removed by the table's TTL).
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from sealing import Instalment, Money, canonical_mac

from .actors import Actor
from .calendar import PARIS, zone
from .clients import LazyClient
from .exceptions import ConcurrentUpdateError, OrderNotFoundError, StoreUnavailableError
from .lifecycle import MAX_ATTEMPTS_KEPT, MAX_REVIEWS_KEPT, Decision, Verdict
from .model import (
    DEFERRAL_STATES,
    GIVE_BACK_DUE,
    KEY_DONE,
    KEY_IN_FLIGHT,
    KEY_RELEASED,
    Attempt,
    GiveBack,
    IdempotencyRecord,
    InstalmentOutcome,
    InstalmentState,
    MailRecord,
    OperationRecord,
    Order,
    OrderStatus,
    PaymentSession,
    PendingOperation,
    Plan,
    Review,
    ReviewMark,
    ReviewReason,
    SecondPayment,
    UnmatchedConfirmation,
)
from .terminals import PaymentMode
from .tracing import NO_TRACES, Traces, outcomes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ORDER_SK = "ORDER"
IDEMPOTENCY_SK = "IDEMPOTENCY"
MAIL_PREFIX = "MAIL#"
MAILS_READ = 200  # an order's mails read at most (a few per event: far more than an order's events)
# The deadline index is spread over DEADLINE_SHARDS partitions (``DEFERRED#00``... by a hash of the order's
# reference), so that no one partition takes every deferred order's writes; the sweeper queries each.
DEADLINE_PARTITION_PREFIX = "DEFERRED"
DEADLINE_SHARDS = 16
# ``GiveBackIndex``: an order holding a second payment still to give back (or watched: ``Order.keeps_giving_back``)
# has ``giveback_due`` set to this, and loses the attribute once none is left. One partition: a second payment is
# an incident, not the daily flow.
GIVE_BACK_PARTITION = "DUE"
# ``AttentionIndex``: ``attention`` is one of these partitions, ``attention_at`` the latest review's time (UTC). One
# partition each: a review is an incident, not the daily flow (as ``GiveBackIndex``).
ATTENTION_ORDERS = "REVIEW"  # orders holding a review no mark covers yet
ATTENTION_UNMATCHED = "UNMATCHED"  # confirmations that matched no order, not marked reviewed yet
# The indexes project keys (and DateIndex the status): their readers read the orders by key, BatchGetItem's
# 100 keys at a time, asking again with a growing pause for what DynamoDB left unread (its throttling).
BATCH_GET_MAX = 100
BATCH_GET_ATTEMPTS = 5
BATCH_GET_BACKOFF_SECONDS = 0.05


def _deadline_partition(number: int) -> str:
    return f"{DEADLINE_PARTITION_PREFIX}#{number:02d}"


def deadline_shard(reference: str) -> str:
    """The deadline index partition of an order (stable: crc32 of its reference)."""
    return _deadline_partition(zlib.crc32(reference.encode()) % DEADLINE_SHARDS)


def deadline_partitions() -> tuple[str, ...]:
    """Every partition the sweeper reads: the shards, in order."""
    return tuple(_deadline_partition(number) for number in range(DEADLINE_SHARDS))


def split_months(first: date, last: date) -> list[str]:
    """The order months (``YYYY-MM``) of the split payments an instalment due from ``first`` to ``last`` can belong
    to: its order falls at most a year before it (``sealing.last_instalment_day``)."""
    year, month = first.year - 1, first.month
    months = []
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def order_key(reference: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{reference}"}, "sk": {"S": ORDER_SK}}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def changed_day(moment: datetime) -> str:
    """The ``ChangedIndex`` day of a write made at ``moment``: UTC, so that every writer agrees without knowing
    the order's terminal (the reconciliation asks for UTC days)."""
    return moment.astimezone(UTC).date().isoformat()


def _attempt_item(attempt: Attempt) -> dict[str, Any]:
    item: dict[str, Any] = {
        "return_code": attempt.return_code,
        "received_at": _iso(attempt.received_at),
        "reason": attempt.reason,
        "authorisation_number": attempt.authorisation_number,
        "card_brand": attempt.card_brand,
        "amount": attempt.amount,
        "confirmation_id": attempt.confirmation_id,
        "bank_reference": attempt.bank_reference,
    }
    if attempt.instalment is not None:
        item["instalment"] = attempt.instalment
    if attempt.card_saved is not None:
        item["card_saved"] = attempt.card_saved
    return item


def _attempt(item: Mapping[str, Any], default_time: datetime) -> Attempt:
    return Attempt(
        return_code=item["return_code"],
        received_at=_dt(item["received_at"]) or default_time,
        reason=item.get("reason", ""),
        authorisation_number=item.get("authorisation_number", ""),
        card_brand=item.get("card_brand", ""),
        amount=item.get("amount", ""),
        instalment=int(item["instalment"]) if "instalment" in item else None,
        confirmation_id=item.get("confirmation_id", ""),
        bank_reference=item.get("bank_reference", ""),
        card_saved=item.get("card_saved"),
    )


def _session_item(session: PaymentSession) -> dict[str, Any]:
    item = {"number": session.number, "bank_reference": session.bank_reference, "opened_at": _iso(session.opened_at)}
    if session.served_at is not None:
        item["served_at"] = _iso(session.served_at)
    return item


def _session(item: Mapping[str, Any], default_time: datetime) -> PaymentSession:
    opened_at = _dt(item["opened_at"]) or default_time
    return PaymentSession(int(item["number"]), item["bank_reference"], opened_at, _dt(item.get("served_at")))


def _outcome_item(outcome: InstalmentOutcome) -> dict[str, Any]:
    return {
        "number": outcome.number,
        "state": outcome.state.value,
        "at": _iso(outcome.at),
        "day": outcome.day.isoformat() if outcome.day else None,
        "authorisation_number": outcome.authorisation_number,
        "confirmation_id": outcome.confirmation_id,
    }


def _outcome(item: Mapping[str, Any], default_time: datetime) -> InstalmentOutcome:
    return InstalmentOutcome(
        number=int(item["number"]),
        state=InstalmentState(item["state"]),
        at=_dt(item.get("at")) or default_time,
        day=date.fromisoformat(item["day"]) if item.get("day") else None,
        authorisation_number=item.get("authorisation_number", ""),
        confirmation_id=item.get("confirmation_id", ""),
    )


def _stored(value: object) -> Any:
    """A decision's change as the item keeps it."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple) and all(isinstance(v, InstalmentOutcome) for v in value):
        return [_outcome_item(v) for v in value]
    return value


def _review_item(review: Review) -> dict[str, Any]:
    return {"reason": review.reason.value, "at": _iso(review.at), "detail": review.detail}


def _attention(at: datetime, names: dict[str, str], values: dict[str, Any], sets: list[str]) -> None:
    """The SET clauses that put the order in ``AttentionIndex`` as a review made at ``at`` is appended: every writer
    of ``reviews`` adds them, and only a mark covering every review takes the order out."""
    names["#attention"], names["#attention_at"] = "attention", "attention_at"
    values[":attention"], values[":attention_at"] = _ser(ATTENTION_ORDERS), _ser(_iso(at))
    sets.append("#attention = :attention, #attention_at = :attention_at")


def _mark_item(mark: ReviewMark) -> dict[str, Any]:
    return {"actor": _actor_item(mark.actor), "at": _iso(mark.at), "covers": mark.covers}


def _mark(item: Mapping[str, Any], default_time: datetime) -> ReviewMark:
    actor = _actor(item)
    assert actor is not None
    return ReviewMark(actor, _dt(item.get("at")) or default_time, int(item["covers"]))


def _unmatched(raw: Mapping[str, Any]) -> UnmatchedConfirmation:
    """A kept unmatched confirmation: of its fields only the amount and the return code (never card data)."""
    item = {name: _deserializer.deserialize(value) for name, value in raw.items()}
    received_at = _dt(item.get("received_at"))
    assert received_at is not None
    fields = item.get("fields") or {}
    reviewed = item.get("reviewed") or {}
    actor = _actor(reviewed)
    return UnmatchedConfirmation(
        key=(item["pk"], item["sk"]),
        tpe=item.get("tpe", ""),
        reference=item.get("reference", ""),
        reason=item.get("reason", ""),
        received_at=received_at,
        amount=str(fields.get("montant", "")),
        return_code=str(fields.get("code-retour", "")),
        reviewed=(actor, _dt(reviewed.get("at")) or received_at) if actor else None,
    )


def _plan_item(plan: Plan) -> dict[str, Any]:
    return {
        "event": plan.event,
        "amount": plan.amount.amount,
        "currency": plan.amount.currency,
        "leaves": plan.leaves.value,
        "enters": plan.enters.value,
        "captured": plan.captured,
        "refunded": plan.refunded,
        "cancelled": plan.cancelled,
    }


def _plan(item: Mapping[str, Any]) -> Plan:
    return Plan(
        event=item["event"],
        amount=Money(Decimal(item["amount"]), item["currency"]),
        leaves=OrderStatus(item["leaves"]),
        enters=OrderStatus(item["enters"]),
        captured=Decimal(item["captured"]),
        refunded=Decimal(item["refunded"]),
        cancelled=Decimal(item["cancelled"]),
    )


def _actor_item(actor: Actor | None) -> dict[str, str] | None:
    return actor.as_json() if actor is not None else None


def _actor(item: Mapping[str, Any]) -> Actor | None:
    """Who the stored entry says did it (``None`` when it does not say)."""
    actor = item.get("actor")
    return Actor.from_json(actor) if actor else None


def _pending_item(pending: PendingOperation) -> dict[str, Any]:
    item = {"id": pending.id, "started_at": _iso(pending.started_at), **_plan_item(pending.plan)}
    return {**item, "actor": _actor_item(pending.actor)}


def _pending(item: Mapping[str, Any], default_time: datetime) -> PendingOperation:
    return PendingOperation(item["id"], _plan(item), _dt(item["started_at"]) or default_time, _actor(item))


def _operation_item(record: OperationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "event": record.event,
        "amount": record.amount.amount,
        "currency": record.amount.currency,
        "at": _iso(record.at),
        "outcome": record.outcome,
        "detail": record.detail,
        "authorisation_number": record.authorisation_number,
        "bank_day": record.bank_day.isoformat() if record.bank_day else None,
        "actor": _actor_item(record.actor),
    }


def _operation(item: Mapping[str, Any], default_time: datetime) -> OperationRecord:
    return OperationRecord(
        id=item["id"],
        event=item["event"],
        amount=Money(Decimal(item["amount"]), item["currency"]),
        at=_dt(item["at"]) or default_time,
        outcome=item["outcome"],
        detail=item.get("detail", ""),
        authorisation_number=item.get("authorisation_number", ""),
        bank_day=date.fromisoformat(item["bank_day"]) if item.get("bank_day") else None,
        actor=_actor(item),
    )


def _give_back_item(giving_back: GiveBack) -> dict[str, Any]:
    return {"id": giving_back.id, "started_at": _iso(giving_back.started_at), "actor": _actor_item(giving_back.actor)}


def _second_payment_item(payment: SecondPayment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "bank_reference": payment.bank_reference,
        "authorisation_number": payment.authorisation_number,
        "amount": payment.amount.amount,
        "currency": payment.amount.currency,
        "received_at": _iso(payment.received_at),
        "mode": payment.mode.value,
        "ordered_at": _iso(payment.ordered_at),
        "confirmation_id": payment.confirmation_id,
        "state": payment.state,
    }
    if payment.giving_back is not None:
        item["giving_back"] = _give_back_item(payment.giving_back)
    if payment.outcome is not None:
        item["outcome"] = _operation_item(payment.outcome)
    if payment.bank_capture is not None:
        item["bank_capture"] = _operation_item(payment.bank_capture)
    return item


def _second_payment(item: Mapping[str, Any], default_time: datetime) -> SecondPayment:
    giving_back = item.get("giving_back")
    return SecondPayment(
        bank_reference=item["bank_reference"],
        authorisation_number=item.get("authorisation_number", ""),
        amount=Money(Decimal(item["amount"]), item["currency"]),
        received_at=_dt(item["received_at"]) or default_time,
        mode=PaymentMode(item["mode"]),
        ordered_at=_dt(item.get("ordered_at")) or default_time,
        confirmation_id=item.get("confirmation_id", ""),
        state=item.get("state", GIVE_BACK_DUE),
        giving_back=GiveBack(giving_back["id"], _dt(giving_back["started_at"]) or default_time, _actor(giving_back))
        if giving_back
        else None,
        outcome=_operation(item["outcome"], default_time) if item.get("outcome") else None,
        bank_capture=_operation(item["bank_capture"], default_time) if item.get("bank_capture") else None,
    )


def _give_back_index(
    order: Order,
    index: int,
    ended: SecondPayment,
    names: dict[str, str],
    values: dict[str, Any],
    sets: list[str],
    removes: list[str],
) -> None:
    """The clause that keeps the order in ``GiveBackIndex`` while one of its second payments, ``ended`` in place of
    entry ``index``, is still to give back (or watched), and takes it out once none is."""
    payments = [ended if n == index else p for n, p in enumerate(order.second_payments)]
    names["#giveback"] = "giveback_due"
    if any(order.keeps_giving_back(p) for p in payments):
        values[":giveback"] = _ser(GIVE_BACK_PARTITION)
        sets.append("#giveback = :giveback")
    else:
        removes.append("#giveback")


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def order_to_item(order: Order, pending_ttl_days: int = 180, timezone: str = "Europe/Paris") -> dict[str, Any]:
    """The DynamoDB item (plain Python values) for a new order; its order day is in the terminal's ``timezone``."""
    item: dict[str, Any] = {
        "pk": f"ORDER#{order.reference}",
        "sk": ORDER_SK,
        "reference": order.reference,
        "tpe": order.tpe,
        "mode": order.mode.value,
        "status": order.status.value,
        "amount": order.amount.amount,
        "currency": order.currency,
        "email": order.email,
        "language": order.language,
        "free_text": order.free_text,
        "billing": dict(order.billing),
        "shipping": dict(order.shipping),
        "three_ds_challenge": order.three_ds_challenge,
        "description": order.description,
        "card_alias": order.card_alias,
        "return_ok_url": order.return_ok_url,
        "return_err_url": order.return_err_url,
        "instalments": [{"due": i.due.isoformat(), "amount": i.amount.amount} for i in order.instalments],
        "created_at": _iso(order.created_at),
        "order_day": order.created_at.astimezone(zone(timezone)).date().isoformat(),
        "changed_day": changed_day(order.created_at),
        "checkout_token_hash": order.checkout_token_hash,
        "attempts": [_attempt_item(a) for a in order.attempts],
        "reviews": [_review_item(r) for r in order.reviews],
        "captured": order.captured,
        "refunded": order.refunded,
        "cancelled": order.cancelled,
        "sessions": [_session_item(s) for s in order.sessions],
        "version": order.version,
    }
    if order.open_reviews:
        item["attention"], item["attention_at"] = ATTENTION_ORDERS, _iso(order.reviews[-1].at)
    if order.review_marks:
        item["review_marks"] = [_mark_item(m) for m in order.review_marks]
        item["reviews_covered"] = order.reviews_covered
    if order.instalments:  # SplitPaymentIndex: the books and the reconciliation find split payments by month
        item["split_month"] = item["order_day"][:7]
    if order.instalment_outcomes:
        item["instalment_outcomes"] = [_outcome_item(o) for o in order.instalment_outcomes]
    if order.status is OrderStatus.AWAITING_PAYMENT:
        # An order nobody pays is removed after a while; paying it removes this attribute.
        item["expires_at"] = int(order.created_at.timestamp()) + pending_ttl_days * 86400
    return item


def item_to_order(raw: Mapping[str, Any]) -> Order:
    item = {name: _deserializer.deserialize(value) for name, value in raw.items()}
    created_at = _dt(item["created_at"])
    assert created_at is not None
    return Order(
        reference=item["reference"],
        tpe=item["tpe"],
        mode=PaymentMode(item["mode"]),
        status=OrderStatus(item["status"]),
        amount=Money(Decimal(item["amount"]), item["currency"]),
        email=item.get("email", ""),
        language=item.get("language", "FR"),
        created_at=created_at,
        checkout_token_hash=item.get("checkout_token_hash", ""),
        free_text=item.get("free_text", ""),
        billing=dict(item.get("billing") or {}),
        shipping=dict(item.get("shipping") or {}),
        three_ds_challenge=item.get("three_ds_challenge", ""),
        return_ok_url=item.get("return_ok_url", ""),
        return_err_url=item.get("return_err_url", ""),
        instalments=tuple(
            Instalment(date.fromisoformat(i["due"]), Money(Decimal(i["amount"]), item["currency"]))
            for i in item.get("instalments", [])
        ),
        attempts=tuple(_attempt(a, created_at) for a in item.get("attempts", [])),
        reviews=tuple(
            Review(ReviewReason(r["reason"]), _dt(r["at"]) or created_at, r.get("detail", ""))
            for r in item.get("reviews", [])
        ),
        review_marks=tuple(_mark(m, created_at) for m in item.get("review_marks") or ()),
        confirmation_ids=frozenset(item.get("confirmation_ids") or ()),
        authorisation_number=item.get("authorisation_number", ""),
        paid_at=_dt(item.get("paid_at")),
        paid_on=date.fromisoformat(item["paid_on"]) if item.get("paid_on") else None,
        deadline=_dt(item.get("deadline")),
        captured=Decimal(item.get("captured", 0)),
        refunded=Decimal(item.get("refunded", 0)),
        cancelled=Decimal(item.get("cancelled", 0)),
        pending=_pending(item["pending"], created_at) if item.get("pending") else None,
        operations=tuple(_operation(o, created_at) for o in item.get("operations", [])),
        attempts_not_kept=int(item.get("attempts_not_kept", 0)),
        last_attempt_not_kept=(
            _attempt(item["last_attempt_not_kept"], created_at) if item.get("last_attempt_not_kept") else None
        ),
        sessions=tuple(_session(s, created_at) for s in item.get("sessions", [])),
        bank_reference=item.get("bank_reference", ""),
        version=int(item.get("version", 0)),
        description=item.get("description", ""),
        card_alias=item.get("card_alias", ""),
        instalment_outcomes=tuple(_outcome(o, created_at) for o in item.get("instalment_outcomes") or ()),
        second_payments=tuple(_second_payment(p, created_at) for p in item.get("second_payments", [])),
    )


def _ser(value: Any) -> dict[str, Any]:
    return dict(_serializer.serialize(value))


def _books(plan: Plan, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """The SET clauses that write ``plan``'s amounts and state."""
    names["#status"] = "status"
    values[":enters"] = _ser(plan.enters.value)
    sets = ["#status = :enters"]
    for name in ("captured", "refunded", "cancelled"):
        names[f"#{name}"] = name
        values[f":{name}"] = _ser(getattr(plan, name))
        sets.append(f"#{name} = :{name}")
    return sets


def idempotency_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMPOTENCY#{key}"}, "sk": {"S": IDEMPOTENCY_SK}}


def _decision_clauses(
    decision: Decision, reference: str, names: dict[str, str], values: dict[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """The SET, ADD and REMOVE clauses that write a confirmation's ``decision`` (``:one`` is 1)."""
    assert decision.attempt is not None
    sets: list[str] = []
    if decision.counted_only:
        # The order holds all the attempts it may: count this one and keep only the latest, in bounded space.
        names["#last"], names["#not_kept"] = "last_attempt_not_kept", "attempts_not_kept"
        values[":attempt"] = _ser(_attempt_item(decision.attempt))
        sets.append("#last = :attempt")
        # Its identity is still kept (40 characters): a replay of it is a replay, not one more to count.
        values[":id"] = {"SS": [decision.attempt.confirmation_id]}
        adds = ["#not_kept :one", "confirmation_ids :id"]
    else:
        names["#attempts"] = "attempts"
        values[":attempt"] = _ser([_attempt_item(decision.attempt)])
        values[":id"] = {"SS": [decision.attempt.confirmation_id]}
        values[":empty"] = {"L": []}
        sets.append("#attempts = list_append(if_not_exists(#attempts, :empty), :attempt)")
        adds = ["confirmation_ids :id"]
    removes: list[str] = []
    if decision.reviews:
        names["#reviews"] = "reviews"
        values[":reviews"] = _ser([_review_item(r) for r in decision.reviews])
        values[":empty"] = {"L": []}
        sets.append("#reviews = list_append(if_not_exists(#reviews, :empty), :reviews)")
        _attention(decision.reviews[-1].at, names, values, sets)
    if decision.second_payment is not None:
        names["#second"] = "second_payments"
        values[":second"] = _ser([_second_payment_item(decision.second_payment)])
        values[":empty"] = {"L": []}
        sets.append("#second = list_append(if_not_exists(#second, :empty), :second)")
        if decision.second_payment.state == GIVE_BACK_DUE:
            names["#giveback"] = "giveback_due"
            values[":giveback"] = _ser(GIVE_BACK_PARTITION)
            sets.append("#giveback = :giveback")  # into GiveBackIndex: the stream and the sweeper find it there
    if decision.enters is not decision.leaves:
        values[":enters"] = _ser(decision.enters.value)
        sets.append("#status = :enters")
    moved = decision.enters is not decision.leaves or "captured" in decision.changes
    if moved or decision.reviews or decision.verdict is Verdict.FLAGGED:
        removes.append("expires_at")  # an order money moved on, or one a human must look at, is never expired
    for index, (name, value) in enumerate(decision.changes.items()):
        names[f"#c{index}"] = name
        values[f":c{index}"] = _ser(_stored(value))
        sets.append(f"#c{index} = :c{index}")
    deadline = decision.changes.get("deadline")
    if isinstance(deadline, datetime):
        names["#shard"] = "deadline_shard"
        values[":shard"] = _ser(deadline_shard(reference))
        sets.append("#shard = :shard")
    return sets, adds, removes


def _presumption_condition(decision: Decision, names: dict[str, str], values: dict[str, Any]) -> str:
    """The condition that holds when the order is as ``decision.presumed`` takes it to be."""
    presumed = decision.presumed
    assert presumed is not None
    assert decision.attempt is not None
    order = presumed.order
    session = f"#sessions[{presumed.session_number}]"
    names.update({"#tpe": "tpe", "#mode": "mode", "#amount": "amount", "#currency": "currency"})
    names.update({"#sessions": "sessions", "#bref": "bank_reference", "#ids": "confirmation_ids"})
    names.update({"#attempts": "attempts", "#reviews": "reviews", "#instalments": "instalments"})
    values.update(
        {
            ":presumed_status": _ser(order.status.value),
            ":tpe": _ser(order.tpe),
            ":mode": _ser(order.mode.value),
            ":amount": _ser(order.amount.amount),
            ":currency": _ser(order.currency),
            ":session": _ser(order.sessions[0].bank_reference),
            ":seen": _ser(decision.attempt.confirmation_id),
            ":max_attempts": _ser(MAX_ATTEMPTS_KEPT),
            ":max_reviews": _ser(MAX_REVIEWS_KEPT),
            ":none": _ser(0),
        }
    )
    terms = [
        "#status = :presumed_status",
        "#tpe = :tpe",
        "#mode = :mode",
        "#amount = :amount",
        "#currency = :currency",
        f"{session}.#bref = :session",
        "NOT contains(#ids, :seen)",
        "(attribute_not_exists(#attempts) OR size(#attempts) < :max_attempts)",
        "(attribute_not_exists(#reviews) OR size(#reviews) < :max_reviews)",
        # A split payment books its instalments one by one: its confirmations are decided on the order as read.
        "(attribute_not_exists(#instalments) OR size(#instalments) = :none)",
    ]
    if "deadline" in decision.changes:  # the deadline counts from the session's local day
        names["#opened"] = "opened_at"
        values[":opened_from"] = _ser(_iso(presumed.opened_from))
        values[":opened_until"] = _ser(_iso(presumed.opened_until))
        terms.append(f"{session}.#opened >= :opened_from AND {session}.#opened < :opened_until")
    return " AND ".join(terms)


def _page_query(
    index: str, key: str, value: str, limit: int, start_key: dict[str, Any] | None, *, latest_first: bool = False
) -> dict[str, Any]:
    """The ``Query`` of one page of ``index``'s partition ``key = value`` (its sort key descending: latest first)."""
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": f"{key} = :value",
        "ExpressionAttributeValues": {":value": {"S": value}},
        "Limit": limit,
    }
    if latest_first:
        kwargs["ScanIndexForward"] = False
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    return kwargs


def _returned_order(exc: ConcurrentUpdateError) -> Order | None:
    """The item a failed conditional write sent back (``ReturnValuesOnConditionCheckFailure``), if any."""
    cause = exc.__cause__
    item: Mapping[str, Any] | None = cause.response.get("Item") if isinstance(cause, ClientError) else None  # type: ignore[assignment]
    return item_to_order(item) if item else None


# A DynamoDB call's outcome in its trace: a failed condition is an answer, not a fault.
STORE_OUTCOME = outcomes("ok", {ConcurrentUpdateError: "condition_failed", StoreUnavailableError: "unavailable"})
STORE_FAULTS = frozenset({"unavailable", "failed"})


class OrderStore:
    """The orders table. Every method maps DynamoDB failures to ``StoreUnavailableError``; every call is a traced
    subsegment (``traces``: none by default)."""

    client: LazyClient[DynamoDBClient] = LazyClient("dynamodb")

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        pending_ttl_days: int = 180,
        sleep: Callable[[float], None] = time.sleep,
        traces: Traces = NO_TRACES,
    ) -> None:
        """``sleep``: how the store waits before asking again for what a ``BatchGetItem`` left unread."""
        self.table_name = table_name
        self._client = client
        self.pending_ttl_days = pending_ttl_days
        self._sleep = sleep
        self.traces = traces

    def _call(self, operation: str, **kwargs: Any) -> Any:
        with self.traces.subsegment(f"dynamodb.{operation}", STORE_OUTCOME, STORE_FAULTS):
            try:
                return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise ConcurrentUpdateError(str(exc)) from exc
                raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc
            except BotoCoreError as exc:
                raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc

    def open_session(self, order: Order, session: PaymentSession) -> Order:
        """Add a payment session to ``order`` as read, conditional on its version: every write moves the version,
        so an order still at that version still awaits payment. It names only ``sessions`` and ``version``, the
        attributes the checkout's role may write."""
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            raise ConcurrentUpdateError(f"order {order.reference} is {order.status.value}")
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression="SET #sessions = list_append(if_not_exists(#sessions, :empty), :session), "
            "#version = :next_version",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#sessions": "sessions", "#version": "version"},
            ExpressionAttributeValues={
                ":session": _ser([_session_item(session)]),
                ":empty": {"L": []},
                ":version": _ser(order.version),
                ":next_version": _ser(order.version + 1),
            },
        )
        return order.with_changes(sessions=(*order.sessions, session), version=order.version + 1)

    def record_served(self, order: Order, session: PaymentSession) -> Order:
        """Keep when the current session's form was served again (``session.served_at``), conditional on the
        order's version: an order still at that version is as the checkout read it. It names only ``sessions``
        and ``version``, the attributes the checkout's role may write, and leaves the version as it is: nothing
        the order's events show changed, and no other writer's conditional write should fail for it."""
        index = len(order.sessions) - 1
        if index < 0 or order.sessions[index].number != session.number:
            raise ConcurrentUpdateError(f"session {session.bank_reference} is not the current one of {order.reference}")
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression=f"SET #sessions[{index}] = :session",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#sessions": "sessions", "#version": "version"},
            ExpressionAttributeValues={":session": _ser(_session_item(session)), ":version": _ser(order.version)},
        )
        return order.with_changes(sessions=(*order.sessions[:index], session))

    def create(self, order: Order, timezone: str = "Europe/Paris") -> None:
        """Store a new order (``timezone``: its terminal's, for its order day); its reference must be new."""
        item = {name: _ser(value) for name, value in order_to_item(order, self.pending_ttl_days, timezone).items()}
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, reference: str) -> Order:
        answer = self._call("get_item", Key=order_key(reference), ConsistentRead=True)
        if "Item" not in answer:
            raise OrderNotFoundError(reference)
        return item_to_order(answer["Item"])

    def delete_order(self, reference: str, *, description: str) -> None:
        """Delete an order's item, only if its ``description`` is ``description`` and nothing was ever collected on
        it: still awaiting payment, no instalment recorded (the smoke test removes its own order, never another,
        and never one somebody paid through its checkout page: that money is the bank's and stays on the books).
        ``ConcurrentUpdateError`` when it is not such an order, or none."""
        self._call(
            "delete_item",
            Key=order_key(reference),
            ConditionExpression="#description = :description AND #status = :awaiting "
            "AND (attribute_not_exists(#instalments) OR size(#instalments) = :none)",
            ExpressionAttributeNames={
                "#description": "description", "#status": "status", "#instalments": "instalment_outcomes",
            },
            ExpressionAttributeValues={
                ":description": _ser(description), ":awaiting": _ser(OrderStatus.AWAITING_PAYMENT.value),
                ":none": _ser(0),
            },
        )  # fmt: skip

    def apply(self, order: Order, decision: Decision) -> None:
        """Write ``decision`` in ONE conditional update naming the state and version the order leaves, or, for
        a decision made on a presumed order, the presumption itself (``Decision.presumed``).

        ``ConcurrentUpdateError`` when the condition does not hold: another writer got there first, or the
        order is not as presumed. A presumed write gets the item back in the same call (``.current``; ``None``
        when there is no such order): decide again from it.
        """
        assert decision.attempt is not None
        names: dict[str, str] = {"#status": "status", "#version": "version"}
        values: dict[str, Any] = {":one": _ser(1)}
        sets, adds, removes = _decision_clauses(decision, order.reference, names, values)
        names["#changed"] = "changed_day"
        values[":changed"] = _ser(changed_day(decision.attempt.received_at))
        sets.append("#changed = :changed")
        extra: dict[str, Any] = {}
        if decision.presumed is None:
            values[":leaves"] = _ser(decision.leaves.value)
            values[":version"] = _ser(order.version)
            condition = "#status = :leaves AND #version = :version"
        else:
            condition = _presumption_condition(decision, names, values)
            extra["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        expression = "SET " + ", ".join(sets) + " ADD " + ", ".join([*adds, "#version :one"])
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            self._call(
                "update_item",
                Key=order_key(order.reference),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **extra,
            )
        except ConcurrentUpdateError as exc:
            if decision.presumed is None:
                raise
            current = _returned_order(exc)
            if current is None:  # the condition failed on no item at all
                raise OrderNotFoundError(order.reference) from exc
            raise ConcurrentUpdateError(str(exc), current) from exc

    def keep_unmatched(
        self, tpe: str, reference: str, fields: tuple[tuple[str, str], ...], reason: str, received_at: datetime
    ) -> None:
        """Keep a sealed confirmation that matches no order, for reconciliation.

        One item per confirmation, keyed by terminal, reference and the MAC's one spelling; the first copy is
        kept and a replay, in any spelling, changes nothing.
        """
        mac = canonical_mac(dict(fields).get("MAC", "")) or "-"
        item = {
            "pk": _ser(f"UNMATCHED#{tpe}#{reference}"),
            "sk": _ser(f"CONFIRMATION#{mac}"),
            "tpe": _ser(tpe),
            "reference": _ser(reference),
            "reason": _ser(reason),
            "received_at": _ser(_iso(received_at)),
            "fields": {"M": {name: {"S": value} for name, value in fields}},
            "unmatched_day": _ser(received_at.astimezone(PARIS).date().isoformat()),
            # In AttentionIndex until someone marks it reviewed: the console lists it with the orders to review.
            "attention": _ser(ATTENTION_UNMATCHED),
            "attention_at": _ser(_iso(received_at)),
        }
        with contextlib.suppress(ConcurrentUpdateError):  # kept already: the first copy stays as it came
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    # --- back-office operations: a journal entry before the bank is called, its outcome after -------------

    def begin_operation(self, order: Order, pending: PendingOperation) -> Order:
        """Write the intent (``pending``) before calling the bank; fails if the order moved or has one already."""
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression="SET #pending = :pending, #version = :next_version, #changed = :changed",
            ConditionExpression="#status = :leaves AND #version = :version AND attribute_not_exists(#pending)",
            ExpressionAttributeNames={
                "#pending": "pending",
                "#version": "version",
                "#status": "status",
                "#changed": "changed_day",
            },
            ExpressionAttributeValues={
                ":changed": _ser(changed_day(pending.started_at)),
                ":pending": _ser(_pending_item(pending)),
                ":leaves": _ser(pending.plan.leaves.value),
                ":version": _ser(order.version),
                ":next_version": _ser(order.version + 1),
            },
        )
        return order.with_changes(pending=pending, version=order.version + 1)

    def finish_operation(
        self,
        order: Order,
        record: OperationRecord,
        plan: Plan | None,
        pending_id: str = "",
        *,
        also: Sequence[OperationRecord] = (),
        review: Review | None = None,
        leave_deadline_index: bool = False,
    ) -> None:
        """Record how an operation ended, in one conditional write.

        With ``pending_id`` it closes that journal entry (and only that one); without, it records an action
        the bank took by itself, conditional on the order's state and version. ``plan`` is applied when the
        operation took effect; ``None`` records it without changing the books (refused, not applied).
        ``also`` are more records written with it (what the bank shows was done outside this API), ``review``
        flags the order, ``leave_deadline_index`` takes it out of the sweeper's reach.
        """
        names = {"#version": "version", "#operations": "operations", "#changed": "changed_day"}
        records = [_operation_item(r) for r in (record, *also)]
        values: dict[str, Any] = {":record": _ser(records), ":empty": {"L": []}, ":one": _ser(1)}
        values[":changed"] = _ser(changed_day(record.at))
        sets = ["#operations = list_append(if_not_exists(#operations, :empty), :record)", "#changed = :changed"]
        removes = ["deadline_shard"] if leave_deadline_index else []
        if pending_id:
            names["#pending"] = "pending"
            values[":id"] = _ser(pending_id)
            condition = "#pending.id = :id"  # the journal entry is the lock: whoever else wrote, this closes it
            removes.append("#pending")
        else:
            names["#status"] = "status"
            values[":version"] = _ser(order.version)
            values[":leaves"] = _ser(order.status.value)
            condition = "#status = :leaves AND #version = :version AND attribute_not_exists(pending)"
        if review is not None:
            names["#reviews"] = "reviews"
            values[":review"] = _ser([_review_item(review)])
            sets.append("#reviews = list_append(if_not_exists(#reviews, :empty), :review)")
            _attention(review.at, names, values, sets)
        if plan is not None:
            sets.extend(_books(plan, names, values))
            if plan.enters not in DEFERRAL_STATES and "deadline_shard" not in removes:
                removes.append("deadline_shard")  # leaves the sparse deadline index: nothing left to sweep
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        expression += " ADD #version :one"
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def record_conflict(self, reference: str, record: OperationRecord, at: datetime) -> None:
        """Keep an operation's outcome that arrived after its journal entry was closed, and flag the order."""
        review = Review(ReviewReason.OPERATION_CONFLICT, at, f"{record.event} {record.amount} ended {record.outcome}")
        names = {"#operations": "operations", "#reviews": "reviews", "#version": "version", "#changed": "changed_day"}
        values: dict[str, Any] = {
            ":changed": _ser(changed_day(at)),
            ":record": _ser([_operation_item(record)]),
            ":review": _ser([_review_item(review)]),
            ":empty": {"L": []},
            ":one": _ser(1),
        }
        sets = [
            "#operations = list_append(if_not_exists(#operations, :empty), :record)",
            "#reviews = list_append(if_not_exists(#reviews, :empty), :review)",
            "#changed = :changed",
        ]
        _attention(at, names, values, sets)
        self._call(
            "update_item",
            Key=order_key(reference),
            UpdateExpression=f"SET {', '.join(sets)} ADD #version :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    # --- second payments: each give-back journalled on its own entry before the bank is called --------------

    def begin_give_back(
        self, order: Order, index: int, giving_back: GiveBack, states: Sequence[str], previous: str = ""
    ) -> Order:
        """Journal the give-back of ``order.second_payments[index]`` before the bank is called, in one conditional
        write: the entry is in one of ``states`` with no give-back under way or, with ``previous``, the give-back
        under way is that one (stale: taken over). ``ConcurrentUpdateError`` when another process holds it. The order
        stays in ``GiveBackIndex`` until the outcome is written, so that a process dying meanwhile is found."""
        entry = f"#second[{index}]"
        names = {"#second": "second_payments", "#gb": "giving_back", "#cid": "confirmation_id"}
        names |= {"#giveback": "giveback_due", "#changed": "changed_day", "#version": "version"}
        values: dict[str, Any] = {
            ":gb": _ser(_give_back_item(giving_back)),
            ":cid": _ser(order.second_payments[index].confirmation_id),
            ":giveback": _ser(GIVE_BACK_PARTITION),
            ":changed": _ser(changed_day(giving_back.started_at)),
            ":one": _ser(1),
        }
        condition = f"{entry}.#cid = :cid AND "
        if previous:
            values[":previous"] = _ser(previous)
            condition += f"{entry}.#gb.id = :previous"
        else:
            names["#state"] = "state"
            values |= {f":s{n}": _ser(state) for n, state in enumerate(states)}
            wanted = ", ".join(f":s{n}" for n in range(len(states)))
            condition += f"{entry}.#state IN ({wanted}) AND attribute_not_exists({entry}.#gb)"
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression=f"SET {entry}.#gb = :gb, #giveback = :giveback, #changed = :changed ADD #version :one",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        payments = list(order.second_payments)
        payments[index] = replace(payments[index], giving_back=giving_back)
        return order.with_changes(second_payments=tuple(payments), version=order.version + 1)

    def finish_give_back(
        self, order: Order, index: int, giving_back_id: str, ended: SecondPayment, review: Review
    ) -> None:
        """Close the give-back ``giving_back_id`` of ``order.second_payments[index]`` with its outcome (``ended``: the
        entry's new state and outcome) and a review, in one conditional write on that journal entry. The order
        leaves ``GiveBackIndex`` when no other entry is left to give back; the condition on the number of entries
        makes a second payment recorded meanwhile fail the write (read the order again and finish on it)."""
        assert ended.outcome is not None
        entry = f"#second[{index}]"
        names = {"#second": "second_payments", "#gb": "giving_back", "#state": "state", "#outcome": "outcome"}
        names |= {"#reviews": "reviews", "#changed": "changed_day", "#version": "version"}
        values: dict[str, Any] = {
            ":id": _ser(giving_back_id),
            ":count": _ser(len(order.second_payments)),
            ":state": _ser(ended.state),
            ":outcome": _ser(_operation_item(ended.outcome)),
            ":review": _ser([_review_item(review)]),
            ":empty": {"L": []},
            ":changed": _ser(changed_day(ended.outcome.at)),
            ":one": _ser(1),
        }
        sets = [f"{entry}.#state = :state", f"{entry}.#outcome = :outcome", "#changed = :changed"]
        sets.append("#reviews = list_append(if_not_exists(#reviews, :empty), :review)")
        _attention(review.at, names, values, sets)
        removes = [f"{entry}.#gb"]
        _give_back_index(order, index, ended, names, values, sets, removes)
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)} ADD #version :one",
            ConditionExpression=f"{entry}.#gb.id = :id AND size(#second) = :count",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def settle_second_payment(self, order: Order, index: int, ended: SecondPayment, review: Review) -> None:
        """Write what the bank's status showed of ``order.second_payments[index]``, no give-back under way on it:
        ``ended`` holds its capture by the bank (then it is due, to refund) or its cancellation (given back), with a
        review, in one conditional write on the entry as ``order`` holds it (its state, no capture recorded yet, no
        journal entry) and on the number of entries. ``ConcurrentUpdateError`` when another process wrote it first:
        read the order again."""
        entry = f"#second[{index}]"
        payment = order.second_payments[index]
        names = {"#second": "second_payments", "#gb": "giving_back", "#state": "state", "#cid": "confirmation_id"}
        names |= {"#capture": "bank_capture", "#reviews": "reviews", "#changed": "changed_day", "#version": "version"}
        values: dict[str, Any] = {
            ":cid": _ser(payment.confirmation_id),
            ":was": _ser(payment.state),
            ":count": _ser(len(order.second_payments)),
            ":state": _ser(ended.state),
            ":review": _ser([_review_item(review)]),
            ":empty": {"L": []},
            ":changed": _ser(changed_day(review.at)),
            ":one": _ser(1),
        }
        sets = [f"{entry}.#state = :state", "#changed = :changed"]
        sets.append("#reviews = list_append(if_not_exists(#reviews, :empty), :review)")
        _attention(review.at, names, values, sets)
        for name, record in (("capture", ended.bank_capture), ("outcome", ended.outcome)):
            if record is not None:
                names[f"#{name}"] = "bank_capture" if name == "capture" else name
                values[f":{name}"] = _ser(_operation_item(record))
                sets.append(f"{entry}.#{name} = :{name}")
        removes: list[str] = []
        _give_back_index(order, index, ended, names, values, sets, removes)
        condition = f"{entry}.#cid = :cid AND {entry}.#state = :was AND attribute_not_exists({entry}.#gb)"
        condition += f" AND attribute_not_exists({entry}.#capture) AND size(#second) = :count"
        expression = f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")
        self._call(
            "update_item",
            Key=order_key(order.reference),
            UpdateExpression=f"{expression} ADD #version :one",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def orders_to_give_back(self, start_key: dict[str, Any] | None = None) -> tuple[list[str], dict[str, Any] | None]:
        """References of the orders holding a second payment still to give back or watched (``GiveBackIndex``), one
        page."""
        kwargs: dict[str, Any] = {
            "IndexName": "GiveBackIndex",
            "KeyConditionExpression": "giveback_due = :due",
            "ExpressionAttributeValues": {":due": {"S": GIVE_BACK_PARTITION}},
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        answer = self._call("query", **kwargs)
        references = [item["pk"]["S"].removeprefix("ORDER#") for item in answer.get("Items", [])]
        return references, answer.get("LastEvaluatedKey")

    # --- attention: what a human must look at, found without a scan (AttentionIndex) ---------------------------

    def mark_reviewed(self, reference: str, mark: ReviewMark, *, every_review: bool) -> None:
        """Record ``mark`` on the order, in one conditional write: no mark covers as many reviews yet, and the order
        holds exactly ``mark.covers`` reviews (``every_review``: it then leaves ``AttentionIndex``) or more (a review
        appended since they were seen stays open, and the order in the index). The version stays as it is: nothing
        the order's events show changed, and no other writer's conditional write should fail for it.
        ``ConcurrentUpdateError`` when the condition does not hold (a review appended, or another mark, meanwhile):
        read the order again."""
        names = {"#reviews": "reviews", "#marks": "review_marks", "#covered": "reviews_covered"}
        values: dict[str, Any] = {":mark": _ser([_mark_item(mark)]), ":covers": _ser(mark.covers), ":empty": {"L": []}}
        expression = "SET #marks = list_append(if_not_exists(#marks, :empty), :mark), #covered = :covers"
        condition = "(attribute_not_exists(#covered) OR #covered < :covers) AND "
        if every_review:
            names |= {"#attention": "attention", "#attention_at": "attention_at"}
            expression += " REMOVE #attention, #attention_at"
            condition += "size(#reviews) = :covers"
        else:
            condition += "size(#reviews) > :covers"
        self._call(
            "update_item",
            Key=order_key(reference),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _attention_keys(
        self, partition: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of ``AttentionIndex``'s ``partition``, latest first: the items' keys, and where to resume."""
        kwargs = _page_query("AttentionIndex", "attention", partition, limit, start_key, latest_first=True)
        answer = self._call("query", **kwargs)
        return list(answer.get("Items", [])), answer.get("LastEvaluatedKey")

    def orders_needing_attention(
        self, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """Orders holding a review no mark covers, latest review first, one page (``AttentionIndex``, read by key;
        an order marked since the index was read is left out)."""
        keys, last_key = self._attention_keys(ATTENTION_ORDERS, limit, start_key)
        return [order for order in self._orders_by_key(keys) if order.open_reviews], last_key

    def unmatched_confirmations(
        self, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[UnmatchedConfirmation], dict[str, Any] | None]:
        """Confirmations that matched no order and nobody marked reviewed, latest first, one page."""
        keys, last_key = self._attention_keys(ATTENTION_UNMATCHED, limit, start_key)
        kept = [_unmatched(item) for item in self._items_by_key(keys)]
        return [confirmation for confirmation in kept if confirmation.reviewed is None], last_key

    def mark_unmatched_reviewed(self, pk: str, sk: str, actor: Actor, at: datetime) -> None:
        """Record who marked a kept unmatched confirmation reviewed, and when (the first mark stays); it leaves
        ``AttentionIndex``. ``ConcurrentUpdateError`` when no such confirmation is kept, or it was marked already."""
        if not (pk.startswith("UNMATCHED#") and sk.startswith("CONFIRMATION#")):
            raise ConcurrentUpdateError(f"{pk} {sk} is not a kept unmatched confirmation")
        self._call(
            "update_item",
            Key={"pk": _ser(pk), "sk": _ser(sk)},
            UpdateExpression="SET #reviewed = :reviewed REMOVE #attention, #attention_at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#reviewed)",
            ExpressionAttributeNames={
                "#reviewed": "reviewed",
                "#attention": "attention",
                "#attention_at": "attention_at",
            },
            ExpressionAttributeValues={":reviewed": _ser({"actor": _actor_item(actor), "at": _iso(at)})},
        )

    # --- idempotency keys: one item per key, claimed before anything else is done ----------------------------

    def claim_key(self, record: IdempotencyRecord, expires_at: datetime) -> None:
        """Claim a key never seen (or whose item has expired); ``ConcurrentUpdateError`` when it exists."""
        item = {
            **idempotency_key(record.key),
            "fingerprint": _ser(record.fingerprint),
            "state": _ser(record.state),
            "claim": _ser(record.claim),
            "claimed_at": _ser(_iso(record.claimed_at)),
            "expires_at": _ser(int(expires_at.timestamp())),
        }
        self._call(
            "put_item",
            Item=item,
            # The TTL removes expired items late (up to days): an expired one is free to claim again.
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues={":now": _ser(int(record.claimed_at.timestamp()))},
        )

    def key_record(self, key: str) -> IdempotencyRecord | None:
        answer = self._call("get_item", Key=idempotency_key(key), ConsistentRead=True)
        if "Item" not in answer:
            return None
        item = {name: _deserializer.deserialize(value) for name, value in answer["Item"].items()}
        claimed_at = _dt(item.get("claimed_at"))
        assert claimed_at is not None
        return IdempotencyRecord(
            key=key,
            fingerprint=item.get("fingerprint", ""),
            state=item.get("state", ""),
            claim=item.get("claim", ""),
            claimed_at=claimed_at,
            status_code=int(item.get("status_code", 0)),
            body=item.get("body", ""),
        )

    def take_over_key(self, key: str, seen_claim: str, claim: str, now: datetime) -> None:
        """Claim a key whose earlier request ended without an answer to keep, or died holding it."""
        changes = {"state": KEY_IN_FLIGHT, "claim": claim, "claimed_at": _iso(now)}
        self._change_key(key, seen_claim, changes, unless_answered=True)

    def answer_key(self, key: str, claim: str, status_code: int, body: str) -> None:
        """Keep the response a key's request answered; every retry with that key answers it again."""
        self._change_key(key, claim, {"state": KEY_DONE, "status_code": status_code, "body": body})

    def release_key(self, key: str, claim: str) -> None:
        """Let a retry with the same request take the key (the outcome is not known yet)."""
        self._change_key(key, claim, {"state": KEY_RELEASED})

    def _change_key(self, key: str, holder: str, changes: dict[str, Any], unless_answered: bool = False) -> None:
        """Set ``changes`` on a key's item while ``holder`` holds it (and, ``unless_answered``, it has no kept
        answer); ``ConcurrentUpdateError`` otherwise."""
        values = {f":{name}": _ser(value) for name, value in changes.items()} | {":holder": _ser(holder)}
        condition = "#claim = :holder"
        if unless_answered:
            condition += " AND #state <> :done"
            values[":done"] = _ser(KEY_DONE)
        self._call(
            "update_item",
            Key=idempotency_key(key),
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in changes),
            ConditionExpression=condition,
            ExpressionAttributeNames={f"#{name}": name for name in changes} | {"#claim": "claim", "#state": "state"},
            ExpressionAttributeValues=values,
        )

    def forget_key(self, key: str, claim: str) -> None:
        """Drop a key whose request changed nothing (bad input, unknown order): it may be used again."""
        self._call(
            "delete_item",
            Key=idempotency_key(key),
            ConditionExpression="#claim = :claim",
            ExpressionAttributeNames={"#claim": "claim"},
            ExpressionAttributeValues={":claim": _ser(claim)},
        )

    # --- mails: one item per (event, recipient) sent, so an event delivered twice mails once ------------------
    # Kept under the order (``MAIL#<reference>``, sorted by ``<event id>#<recipient>``): an order's mails are one
    # query away (``mails_of``), and the claim's key still names one event and one recipient.

    @staticmethod
    def _mail_key(reference: str, event_id: str, kind: str) -> dict[str, Any]:
        return {"pk": _ser(f"{MAIL_PREFIX}{reference}"), "sk": _ser(f"{event_id}#{kind}")}

    def _mail_claim(
        self, reference: str, event_id: str, kind: str, now: datetime, keep_days: int, **more: str | None
    ) -> dict[str, Any]:
        return {
            **self._mail_key(reference, event_id, kind),
            "claimed_at": _ser(_iso(now)),
            "expires_at": _ser(int(now.timestamp()) + keep_days * 86400),
            **{name: _ser(value) for name, value in more.items()},
        }

    def claim_mail(self, reference: str, event_id: str, kind: str, now: datetime, keep_days: int = 30) -> bool:
        """Claim the mail of ``kind`` for ``event_id`` of the order ``reference``; False when it was claimed already
        (sent, or being sent)."""
        try:
            self._call(
                "put_item",
                Item=self._mail_claim(reference, event_id, kind, now, keep_days),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ConcurrentUpdateError:
            return False
        return True

    def record_mail_rejected(
        self, reference: str, event_id: str, kind: str, reason: str, now: datetime, keep_days: int = 30
    ) -> None:
        """Keep the claim of a mail SES refused for good, with SES's reason: it is not sent again."""
        item = self._mail_claim(reference, event_id, kind, now, keep_days, rejected_at=_iso(now), reason=reason[:1000])
        self._call("put_item", Item=item)

    def release_mail(self, reference: str, event_id: str, kind: str) -> None:
        """Give the claim back when the mail was not sent: the event's retry sends it."""
        self._call("delete_item", Key=self._mail_key(reference, event_id, kind))

    def mails_of(self, reference: str, limit: int = MAILS_READ) -> list[MailRecord]:
        """The mails the order's events sent (or SES refused for good), by event id: one query, at most ``limit``."""
        answer = self._call(
            "query",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _ser(f"{MAIL_PREFIX}{reference}")},
            Limit=limit,
        )
        records = []
        for raw in answer.get("Items", []):
            item = {name: _deserializer.deserialize(value) for name, value in raw.items()}
            event_id, _, kind = str(item["sk"]).rpartition("#")
            claimed = _dt(item.get("claimed_at"))
            if claimed is not None:
                records.append(MailRecord(event_id, kind, claimed, str(item.get("reason", "")) or None))
        return records

    # --- queries ------------------------------------------------------------------------------------------

    def _orders_by_key(self, keys: Sequence[Mapping[str, Any]]) -> list[Order]:
        """The orders an index query named (``keys``: its entries, holding the table's key), read by key with
        ``BatchGetItem`` (eventually consistent, as the index itself), in the order given. An order the table no
        longer holds (its TTL ran since the index was read) is left out."""
        return [item_to_order(item) for item in self._items_by_key(keys)]

    def _items_by_key(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The items ``keys`` name, read with ``BatchGetItem``, in the order given (one no longer held left out)."""
        wanted = [{"pk": key["pk"], "sk": key["sk"]} for key in keys]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET_MAX):
            request: dict[str, Any] = {self.table_name: {"Keys": wanted[start : start + BATCH_GET_MAX]}}
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:  # what DynamoDB could not read now (throttled), after a pause
                    self._sleep(BATCH_GET_BACKOFF_SECONDS * 2 ** (attempt - 1))
                answer = self._batch_get(request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailableError(f"DynamoDB BatchGetItem left keys unread after {BATCH_GET_ATTEMPTS} tries")
        named = [(key["pk"]["S"], key["sk"]["S"]) for key in wanted]
        return [found[name] for name in named if name in found]

    def _batch_get(self, request: dict[str, Any]) -> Any:
        with self.traces.subsegment("dynamodb.batch_get_item", STORE_OUTCOME, STORE_FAULTS):
            try:
                return self.client.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise StoreUnavailableError(f"DynamoDB batch_get_item failed: {exc}") from exc

    def _query_orders(self, **kwargs: Any) -> tuple[list[Order], dict[str, Any] | None, int]:
        """One page of an index query, and the orders it names read by key; its ``LastEvaluatedKey`` and the
        number of index entries it read."""
        answer = self._call("query", **kwargs)
        orders = self._orders_by_key(answer.get("Items", []))
        return orders, answer.get("LastEvaluatedKey"), int(answer.get("ScannedCount", 0))

    def orders_of_day(
        self, day: str, *, limit: int, start_key: dict[str, Any] | None = None, status: str | None = None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """Orders of one order day (Paris), newest first, one page (``DateIndex``, which holds their status: with
        ``status``, only the orders in that status are read, and an order that left it since is left out)."""
        orders, last_key, _ = self.orders_of_day_read(day, limit=limit, start_key=start_key, status=status)
        return orders, last_key

    def orders_of_day_read(
        self, day: str, *, limit: int, start_key: dict[str, Any] | None = None, status: str | None = None
    ) -> tuple[list[Order], dict[str, Any] | None, int]:
        """``orders_of_day``, and the number of index entries the page read (those ``status`` left out too)."""
        kwargs = _page_query("DateIndex", "order_day", day, limit, start_key, latest_first=True)
        if status:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":status"] = {"S": status}
        orders, last_key, read = self._query_orders(**kwargs)
        return [order for order in orders if not status or order.status.value == status], last_key, read

    def statuses_of_day(
        self, day: str, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[str], dict[str, Any] | None, int]:
        """The status of each order of one order day, newest first, one page, from ``DateIndex`` alone (no order
        read); its ``LastEvaluatedKey`` and the entries it read."""
        kwargs = _page_query("DateIndex", "order_day", day, limit, start_key, latest_first=True)
        kwargs.update(ExpressionAttributeNames={"#status": "status"}, ProjectionExpression="#status")
        answer = self._call("query", **kwargs)
        statuses = [str(item["status"]["S"]) for item in answer.get("Items", []) if "status" in item]
        return statuses, answer.get("LastEvaluatedKey"), int(answer.get("ScannedCount", 0))

    def orders_changed_on(
        self, day: str, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """Orders whose last write was on ``day`` (UTC), one page (``ChangedIndex``: only those orders are read)."""
        return self._orders_of_index("ChangedIndex", "changed_day", day, limit, start_key)

    def split_payments_of_month(
        self, month: str, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """Split payments ordered in ``month`` (``YYYY-MM``, the terminal's zone), one page (``SplitPaymentIndex``:
        only split payments are read)."""
        return self._orders_of_index("SplitPaymentIndex", "split_month", month, limit, start_key)

    def _orders_of_index(
        self, index: str, key: str, value: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        orders, last_key, _ = self._query_orders(**_page_query(index, key, value, limit, start_key))
        return orders, last_key

    def due_orders(
        self, now: datetime, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Order], dict[str, Any] | None, int]:
        """Orders whose deferral deadline has passed (``DeadlineIndex``, read by key): one page, and the index
        entries it read.

        The paging key names the partition as well: pass it back until it is ``None`` to have read them all.
        """
        partitions = deadline_partitions()
        key = dict(start_key or {})
        partition = key.get("deadline_shard", {}).get("S", partitions[0])
        index = partitions.index(partition) if partition in partitions else 0
        kwargs: dict[str, Any] = {
            "IndexName": "DeadlineIndex",
            "KeyConditionExpression": "deadline_shard = :shard AND deadline <= :now",
            "ExpressionAttributeValues": {":shard": {"S": partitions[index]}, ":now": {"S": _iso(now)}},
        }
        if key.get("deadline"):  # a page within the partition, not only its name
            kwargs["ExclusiveStartKey"] = key
        orders, following, read = self._query_orders(**kwargs)
        if following is None and index + 1 < len(partitions):
            following = {"deadline_shard": {"S": partitions[index + 1]}}
        return orders, following, read
