"""The sandbox bank: configuration, ledger, clock and the payment page's flow in one object.

``open_payment`` takes the merchant's sealed request (nothing is recorded when it is refused), ``pay`` one
card attempt (the confirmation is posted to the terminal's CGI2 and its acknowledgement checked; a bad one is
an alert and the payment stands), ``abandon`` the buyer's "cancel and return". ``settle`` applies the end of
deferral periods, and runs before every request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .cards import Card, CardError, read_card
from .ledger import (
    Attempt,
    Ledger,
    Payment,
    Status,
    accept,
    new_authorisation_number,
    new_session,
    settle_due,
)
from .payment import (
    ConfirmationFacts,
    Poster,
    PostResult,
    RequestError,
    check_acknowledgement,
    confirmation_body,
    confirmation_fields,
    failure,
    post_confirmation,
    read_request,
)
from .terminals import BankConfig, BankTerminal


def utc_now() -> datetime:
    return datetime.now(UTC)


class SessionError(LookupError):
    """No payment session by that id (unknown, or from another run of the sandbox)."""


class ClosedReference(RequestError):
    """The reference is one the bank takes no more: paid, cancelled, or its attempts used up. The buyer is told
    which (``message_key``, a key of the pages' messages) in the posted form's language, with the way back to
    the merchant when the form gave ``url_retour_err``."""

    def __init__(self, message_key: str, payment: Payment, language: str, back_url: str) -> None:
        super().__init__("reference", f"{payment.reference}: {message_key}")
        self.message_key = message_key
        self.payment = payment
        self.language = language
        self.back_url = back_url


def closed_because(payment: Payment) -> str:
    """Why a new payment session for this order is refused ("" when it is not)."""
    if payment.status is Status.CANCELLED:
        return "order_cancelled"
    if payment.status.accepted:
        return "already_paid"
    if payment.attempts_left <= 0:
        return "no_attempts_left"
    return ""


@dataclass(frozen=True)
class AttemptResult:
    payment: Payment
    attempt: Attempt | None = None
    card_error: str = ""  # a key of pages' messages: the card was not sent for authorisation
    expired: bool = False


class Bank:
    def __init__(
        self,
        config: BankConfig,
        *,
        clock: Callable[[], datetime] = utc_now,
        poster: Poster = post_confirmation,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.ledger = Ledger()
        self.clock = clock
        self.poster = poster
        self.timeout = timeout

    def now(self) -> datetime:
        return self.clock()

    def terminal(self, tpe: str) -> BankTerminal:
        terminal = self.config.get(tpe)
        if terminal is None:  # pragma: no cover - payments are only made for configured terminals
            raise SessionError(tpe)
        return terminal

    def settle(self) -> list[Payment]:
        return settle_due(self.ledger, dict(self.config.terminals), self.now())

    # -- the payment page -----------------------------------------------------------------------------------

    def open_payment(self, body: bytes) -> Payment:
        """The buyer arrives with the merchant's form: a payment session, new or resumed."""
        request = read_request(body, self.config)
        now = self.now()
        with self.ledger.lock:
            existing = self.ledger.get(request.terminal.tpe, request.reference)
            if existing is not None:
                # Closed whatever else the form says: the buyer learns the order's fate, not a field's.
                closed = closed_because(existing)
                if closed:
                    back_url = dict(request.fields).get("url_retour_err", "")  # checked by read_request
                    raise ClosedReference(closed, existing, request.language, back_url)
                changed = request.difference(existing.fields)
                if changed:
                    raise RequestError(
                        changed,
                        "diffère de la première demande pour cette référence (référence déjà utilisée) / "
                        "differs from the first request for this reference (reference already used)",
                    )
                existing.status = Status.OPEN
                existing.created_at = now
                self.ledger.new_session(existing)
                return existing
            payment = Payment(
                tpe=request.terminal.tpe,
                reference=request.reference,
                amount=request.amount,
                ordered_at=request.ordered_at,
                language=request.language,
                email=request.email,
                free_text=request.free_text,
                return_ok_url=request.return_ok_url,
                return_err_url=request.return_err_url,
                fields=request.fields,
                session=new_session(),
                created_at=now,
                first_instalment=request.first_instalment,
                card_alias=request.options.get("aliascb", ""),
                force_card_entry=request.options.get("forcesaisiecb") == "1",
            )
            self.ledger.add(payment)
            return payment

    def session(self, session: str) -> Payment:
        payment = self.ledger.by_session(session)
        if payment is None:
            raise SessionError(session)
        return payment

    def _card(self, payment: Payment, typed: tuple[str, str, str, str], saved: bool, now: datetime) -> Card:
        """The card of this attempt: as typed, or the one on file with the CVV typed (the bank still asks it)."""
        number, month, year, cvv = typed
        if saved:
            kept = self.ledger.card_on_file(payment)
            if kept is None:
                raise CardError("card_number", "no_saved_card")
            number, month, year = kept.number, str(kept.expiry_month), str(kept.expiry_year)
        return read_card(number, month, year, cvv, now.date())

    def pay(
        self,
        session: str,
        number: str,
        month: str,
        year: str,
        cvv: str,
        client_ip: str,
        *,
        saved: bool = False,
    ) -> AttemptResult:
        """One card attempt (``saved``: with the card on file under the request's alias); the confirmation goes
        to CGI2 whatever the outcome."""
        now = self.now()
        with self.ledger.lock:
            payment = self.session(session)
            terminal = self.terminal(payment.tpe)
            if payment.status is not Status.OPEN:
                return AttemptResult(payment, payment.attempts[-1] if payment.attempts else None)
            if payment.session_expired(now):
                return AttemptResult(payment, expired=True)
            try:
                card = self._card(payment, (number, month, year, cvv), saved, now)
            except CardError as error:
                return AttemptResult(payment, card_error=error.message_key)
            refusal = card.refusal
            authorisation = "" if refusal else new_authorisation_number()
            attempt = Attempt(
                now, card.masked, card.brand, refusal, authorisation, "Annulation" if refusal else "payetest"
            )
            payment.attempts.append(attempt)
            card_saved = False
            if refusal:
                if payment.attempts_left <= 0:
                    payment.status = Status.REFUSED
            else:
                payment.card, payment.brand = card.masked, card.brand
                accept(payment, terminal, now, authorisation)
                card_saved = self.ledger.keep_card(payment, card)
            facts = ConfirmationFacts(
                reference=payment.reference,
                amount=payment.amount,
                free_text=payment.free_text,
                at=now,
                card=card,
                refusal=refusal,
                authorisation_number=authorisation,
                client_ip=client_ip,
                first_instalment=payment.first_instalment,
                card_saved=card_saved,
            )
        # The confirmation travels outside the lock: the merchant's CGI2 may take its time. Whatever happens to
        # it is the merchant's problem, never the buyer's: a post that fails in any way is an alert, the payment
        # stands and the buyer gets the receipt.
        try:
            body = confirmation_body(confirmation_fields(terminal, facts))
            answer = self.poster(terminal.cgi2_url, body, self.timeout)
        except Exception as exc:  # any failure of the post is a failed post
            answer = PostResult(0, "", b"", failure(exc))
        problem = check_acknowledgement(answer)
        with self.ledger.lock:
            attempt.acknowledged = not problem
            attempt.acknowledgement = problem
            if problem:
                self.ledger.alert(payment, now, f"{attempt.return_code}: {problem}")
        return AttemptResult(payment, attempt)

    def abandon(self, session: str) -> Payment:
        """The buyer's "cancel and return to the merchant": no card, no confirmation; the order may be paid later."""
        with self.ledger.lock:
            payment = self.session(session)
            if payment.status is Status.OPEN:
                payment.status = Status.ABANDONED
            return payment
