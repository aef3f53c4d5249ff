"""The merchant programs' business: create an order (CGI1), serve its sealed form, take a confirmation (CGI2)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sealing import (
    Acknowledgement,
    Confirmation,
    FieldError,
    Instalment,
    PaymentForm,
    PaymentRequest,
    ReceivedForm,
    SealingError,
    SealMismatchError,
    acknowledgement,
    build_payment_form,
    check_not_a_request,
    parse_amount,
    parse_form,
    read_confirmation,
    verify_confirmation,
)

from .description import read_description
from .exceptions import (
    ConcurrentUpdateError,
    ConfigurationError,
    InvalidOrderError,
    OrderNotFoundError,
    StoreUnavailableError,
    UnknownTerminalError,
)
from .lifecycle import Verdict, decide_confirmation, presume
from .model import Order, OrderStatus, PaymentSession
from .sessions import (
    ORDER_REFERENCE_LENGTH,
    first_session,
    new_order_reference,
    order_reference_of,
    session_for_checkout,
)
from .store import OrderStore
from .terminals import PaymentMode, TerminalConfig, Terminals, TerminalsProvider

ORDER_FIELDS = frozenset(
    {
        "amount", "currency", "email", "language", "free_text", "billing", "shipping", "tpe",
        "return_ok_url", "return_err_url", "three_ds_challenge", "instalments", "description", "card_alias",
    }
)  # fmt: skip
MAX_WRITE_ATTEMPTS = 3
# "<reference>.<secret>": a reference (12 ASCII letters or digits) and a secrets.token_urlsafe secret.
CHECKOUT_TOKEN = re.compile(r"(?P<reference>[A-Za-z0-9]{1,12})\.(?P<secret>[A-Za-z0-9_-]{1,64})")


def _text(payload: Mapping[str, Any], name: str, default: str | None = None, where: str = "") -> str:
    """``payload[name]``, a string; errors name it as the request does (``where`` is its parent's path)."""
    value = payload.get(name, default)
    field = f"{where}.{name}" if where else name
    if value is None:
        raise InvalidOrderError(field, "is required")
    if not isinstance(value, str):
        raise InvalidOrderError(field, "must be a string")
    return value


def _object(payload: Mapping[str, Any], name: str) -> dict[str, str] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidOrderError(name, "must be an object")
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidOrderError(f"{name}.{key}", "must be a string")
    return dict(value)


def _instalment(entry: Any, where: str, currency: str) -> Instalment:
    if not isinstance(entry, dict):
        raise InvalidOrderError(where, 'must be {"due": "YYYY-MM-DD", "amount": "10.00"}')
    unknown = sorted(set(entry) - {"due", "amount"})
    if unknown:
        raise InvalidOrderError(f"{where}.{unknown[0]}", "is not a field of an instalment (due, amount)")
    due_text = _text(entry, "due", where=where)
    try:
        due = date.fromisoformat(due_text)
    except ValueError:
        raise InvalidOrderError(f"{where}.due", f"{due_text!r} is not a date like 2026-12-24") from None
    return Instalment(due, parse_amount(_text(entry, "amount", where=where), currency, f"{where}.amount"))


def _instalments(payload: Mapping[str, Any], currency: str, terminal: TerminalConfig) -> tuple[Instalment, ...]:
    raw = payload.get("instalments")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidOrderError("instalments", 'must be a list of {"due": "YYYY-MM-DD", "amount": "10.00"}')
    if terminal.mode is not PaymentMode.IMMEDIATE:
        # The bank collects each instalment on its day: a split payment is for an immediate terminal only.
        detail = f"a split payment needs an immediate terminal; {terminal.tpe} is {terminal.mode.value}"
        raise InvalidOrderError("instalments", detail)
    return tuple(_instalment(entry, f"instalments[{index}]", currency) for index, entry in enumerate(raw))


def _payment_request(order: Order, session: PaymentSession) -> PaymentRequest:
    billing = order.billing or None
    return PaymentRequest(
        amount=order.amount,
        reference=session.bank_reference,
        ordered_at=session.opened_at,
        email=order.email,
        language=order.language,
        free_text=order.free_text,
        return_ok_url=order.return_ok_url,
        return_err_url=order.return_err_url,
        billing=billing,
        shipping=order.shipping or None,
        instalments=order.instalments,
        three_ds_challenge=order.three_ds_challenge or None,
        card_alias=order.card_alias,
    )


def payment_form(order: Order, terminal: TerminalConfig, session: PaymentSession) -> PaymentForm:
    """The sealed form of one payment session: the same fields and MAC every time it is asked for."""
    return build_payment_form(terminal.terminal, _payment_request(order, session))


@dataclass(frozen=True)
class NewOrder:
    order: Order
    checkout_token: str
    form: PaymentForm


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_order(
    payload: Mapping[str, Any], terminals: TerminalsProvider, store: OrderStore, now: datetime
) -> NewOrder:
    """Validate the merchant's request, allocate a reference, store the order ``awaiting_payment``."""
    unknown = sorted(set(payload) - ORDER_FIELDS)
    if unknown:
        raise InvalidOrderError(unknown[0], "is not a field of an order")
    try:
        terminal = terminals().get(_text(payload, "tpe", "") or None)
    except UnknownTerminalError as exc:
        raise InvalidOrderError("tpe", str(exc)) from None
    try:
        currency = _text(payload, "currency", "EUR")
        amount = parse_amount(_text(payload, "amount"), currency)
        instalments = _instalments(payload, currency, terminal)
        secret = secrets.token_urlsafe(24)
        draft = Order(
            reference="0" * ORDER_REFERENCE_LENGTH,
            tpe=terminal.tpe,
            mode=terminal.mode,
            status=OrderStatus.AWAITING_PAYMENT,
            amount=amount,
            email=_text(payload, "email"),
            language=_text(payload, "language", "FR"),
            created_at=now,
            checkout_token_hash=_token_hash(secret),
            free_text=_text(payload, "free_text", ""),
            billing=_object(payload, "billing") or {},
            shipping=_object(payload, "shipping") or {},
            three_ds_challenge=_text(payload, "three_ds_challenge", ""),
            return_ok_url=_text(payload, "return_ok_url", terminal.return_ok_url),
            return_err_url=_text(payload, "return_err_url", terminal.return_err_url),
            instalments=instalments,
            description=read_description(payload.get("description")),
            card_alias=_text(payload, "card_alias", ""),
        )
        payment_form(draft, terminal, first_session(draft.reference, now))  # every check the bank makes
    except FieldError as exc:
        raise InvalidOrderError(exc.field, exc.reason) from None
    for _ in range(MAX_WRITE_ATTEMPTS):
        reference = new_order_reference(now)
        order = draft.with_changes(reference=reference, sessions=(first_session(reference, now),))
        try:
            store.create(order, terminal.terminal.timezone)
        except ConcurrentUpdateError:
            continue  # another order drew the same reference in the same second: draw again
        return NewOrder(order, f"{order.reference}.{secret}", payment_form(order, terminal, order.sessions[0]))
    raise StoreUnavailableError(f"no free order reference after {MAX_WRITE_ATTEMPTS} draws")


def order_for_checkout(token: str, store: OrderStore) -> Order:
    """The order behind a checkout token; ``OrderNotFoundError`` for any token that is not exactly right."""
    match = CHECKOUT_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:  # str.isalnum() admits "é" and "²", which the ASCII hash cannot take
        raise OrderNotFoundError("")
    reference, secret = match["reference"], match["secret"]
    order = store.get(reference)
    if not hmac.compare_digest(order.checkout_token_hash, _token_hash(secret)):
        raise OrderNotFoundError(reference)
    return order


@dataclass(frozen=True)
class Checkout:
    """What the buyer's checkout page shows: the order and its current session's form (``None``: not payable)."""

    order: Order
    form: PaymentForm | None
    merchant_name: str = ""


def open_checkout(token: str, terminals: TerminalsProvider, store: OrderStore, now: datetime) -> Checkout:
    """The form for the buyer: the current payment session's while the bank may still take its reference, else
    a new session's (``orders.sessions``)."""
    order = order_for_checkout(token, store)
    for _ in range(MAX_WRITE_ATTEMPTS):
        session = session_for_checkout(order, now)
        if session is None:
            return Checkout(order, None)
        current = order.current_session
        if session != current:
            try:
                if current is not None and session.number == current.number:
                    order = store.record_served(order, session)  # the same form, served again
                else:
                    order = store.open_session(order, session)
            except ConcurrentUpdateError:
                order = store.get(order.reference)  # a concurrent checkout or confirmation: decide again
                continue
        terminal = terminals().get(order.tpe)
        return Checkout(order, payment_form(order, terminal, session), terminal.merchant_name)
    raise StoreUnavailableError(f"order {order.reference} kept changing under {MAX_WRITE_ATTEMPTS} attempts")


class ConfirmationKind(enum.Enum):
    """What became of one confirmation. CGI2 maps each kind to its answer, metric and log level in one table."""

    APPLIED = "applied"  # written on its order: accepted, refused, instalment, or flagged for review
    REPLAY = "replay"  # seen before, in any spelling: nothing changed
    UNMATCHED = "unmatched"  # sealed, but no order of that terminal has the reference: kept for reconciliation
    REJECTED = "rejected"  # no seal, a bad seal, an unknown terminal or an unreadable body: nothing changed
    NOT_STORED = "not_stored"  # the store failed (or the seal could not be checked yet): it must be queued


@dataclass(frozen=True)
class Receipt:
    """What a confirmation came to, and why (``detail``, for the log).

    ``sealed`` says the seal was checked and held: only then may the bank be told ``cdr=0``.
    """

    kind: ConfirmationKind
    detail: str
    tpe: str = ""
    reference: str = ""
    sealed: bool = False
    reviews: tuple[str, ...] = ()  # why the order now needs a human look (ReviewReason values), for the alarm
    previous_key: bool = False  # the seal held with the terminal's previous key (a rotation under way)

    @property
    def order_reference(self) -> str:
        """The order the confirmation's reference (its payment session's, as the bank names it) belongs to."""
        return order_reference_of(self.reference) or ""

    @property
    def acknowledgement(self) -> Acknowledgement:
        return acknowledgement(self.kind is not ConfirmationKind.REJECTED)


def _rejected(detail: str, tpe: str = "", reference: str = "") -> Receipt:
    return Receipt(ConfirmationKind.REJECTED, detail, tpe, reference)


def receive_confirmation(
    body: bytes,
    terminals: TerminalsProvider,
    store: OrderStore,
    now: datetime,
    *,
    read_again: TerminalsProvider | None = None,
) -> Receipt:
    """CGI2: check the seal on the exact bytes, apply the confirmation in one conditional write.

    ``now`` is when the bank's post was received: it decides whether a terminal's ``previous_key`` still holds.
    When no key of the configuration holds the seal (or knows the terminal), ``read_again`` reads the
    configuration past any cache, once, before the seal is called bad: the key may have been rotated since.

    Never raises for anything the body holds or the store does: a failure to store is ``NOT_STORED``, which the
    caller must queue (the exact bytes) before it may answer ``cdr=0``.
    """
    try:
        form = check_not_a_request(parse_form(body))
        tpe, _ = form.tpe, form.mac
    except SealingError as exc:  # unreadable, or no TPE or no MAC at all: nothing can be sealed
        return _rejected(f"malformed: {exc}")
    try:
        checked = _seal_checked(form, terminals(), now)
        if isinstance(checked, Receipt) and read_again is not None:
            checked = _seal_checked(form, read_again(), now)
    except ConfigurationError as exc:
        return Receipt(ConfirmationKind.NOT_STORED, f"the seal cannot be checked yet: {exc}", tpe)
    except SealingError as exc:
        return _rejected(f"malformed: {exc}", tpe)
    if isinstance(checked, Receipt):
        return checked
    sealed, terminal, previous_key = checked
    receipt = _apply_sealed(sealed, terminal, store, now)
    return replace(receipt, previous_key=True) if previous_key else receipt


def _seal_checked(
    form: ReceivedForm, terminals: Terminals, received_at: datetime
) -> tuple[ReceivedForm, TerminalConfig, bool] | Receipt:
    """What the seal covers, its terminal and whether the previous key held it; or the rejection when no key
    the configuration accepts at ``received_at`` holds it. ``SealingError`` for a form no key could hold."""
    tpe = form.tpe
    if tpe not in terminals:
        return _rejected("unknown terminal: the seal cannot be checked", tpe)
    terminal = terminals.get(tpe)
    variant = terminal.terminal.seal.for_confirmation()
    for index, key in enumerate(terminal.confirmation_keys(received_at)):
        try:
            return verify_confirmation(form, key, variant, tpe=tpe), terminal, index > 0
        except SealMismatchError:
            continue
    return _rejected("seal mismatch", tpe, form.text("reference") or "")


class _Presumed(enum.Enum):
    """What ``_presumed_write`` came to when it has neither written nor an order to hand back."""

    NO_ORDER = "no_order"  # there is no order under that reference
    READ = "read"  # the order must be read: no presumption could be made, or the write lost a race


def _presumed_write(
    order_reference: str, confirmation: Confirmation, terminal: TerminalConfig, store: OrderStore, now: datetime
) -> Verdict | Order | _Presumed:
    """A first confirmation in ONE call: the decision made on the order it usually finds, written on the
    condition that the order is that one (``lifecycle.Presumption``); its verdict when it was. Otherwise the
    order as the failed write found it, to decide again from without reading it.
    """
    presumption = presume(order_reference, confirmation, terminal, now)
    if presumption is None:
        return _Presumed.READ
    decision = decide_confirmation(presumption.order, confirmation, terminal, now)
    if not decision.writes:
        return _Presumed.READ
    try:
        store.apply(presumption.order, replace(decision, presumed=presumption))
    except OrderNotFoundError:
        return _Presumed.NO_ORDER
    except ConcurrentUpdateError as exc:
        return exc.current if exc.current is not None else _Presumed.READ
    return decision.verdict


def _read(store: OrderStore, reference: str) -> Order | _Presumed:
    try:
        return store.get(reference)
    except OrderNotFoundError:
        return _Presumed.NO_ORDER


def _apply_sealed(form: ReceivedForm, terminal: TerminalConfig, store: OrderStore, now: datetime) -> Receipt:
    """Apply a confirmation whose seal held (``form`` holds only what the seal covers)."""
    tpe = terminal.tpe
    reference = form.text("reference") or ""

    def receipt(kind: ConfirmationKind, detail: str, reviews: tuple[str, ...] = ()) -> Receipt:
        return Receipt(kind, detail, tpe, reference, sealed=True, reviews=reviews)

    fields = tuple((name, value.decode("utf-8", "replace")) for name, value in form.fields)
    try:
        try:
            confirmation = read_confirmation(form)
        except SealingError as exc:
            store.keep_unmatched(tpe, reference or "-", fields, f"unreadable: {exc}", now)
            return receipt(ConfirmationKind.UNMATCHED, f"kept for reconciliation (unreadable: {exc})")
        order_reference = order_reference_of(confirmation.reference)
        found = (
            _presumed_write(order_reference, confirmation, terminal, store, now)
            if order_reference
            else _Presumed.NO_ORDER
        )
        if isinstance(found, Verdict):
            return receipt(ConfirmationKind.APPLIED, found.value)
        for _ in range(MAX_WRITE_ATTEMPTS):
            if found is _Presumed.READ:
                found = _read(store, order_reference or "")
            order = found if isinstance(found, Order) and found.session(confirmation.reference) else None
            if order is None or order.tpe != tpe:
                store.keep_unmatched(tpe, reference, fields, "no such order for this terminal", now)
                return receipt(ConfirmationKind.UNMATCHED, "kept for reconciliation (no such order)")
            decision = decide_confirmation(order, confirmation, terminal, now)
            if decision.verdict is Verdict.REPLAY:
                return receipt(ConfirmationKind.REPLAY, "seen before: nothing changed")
            try:
                store.apply(order, decision)
            except ConcurrentUpdateError:
                found = _Presumed.READ  # another writer changed the order: read it again and decide again
                continue
            reviews = tuple(review.reason.value for review in decision.reviews)
            return receipt(ConfirmationKind.APPLIED, decision.verdict.value, reviews)
        raise StoreUnavailableError(f"order {reference} kept changing under {MAX_WRITE_ATTEMPTS} attempts")
    except StoreUnavailableError as exc:
        return receipt(ConfirmationKind.NOT_STORED, f"not stored: {exc}")
