"""The sandbox bank: configuration, ledger, clock and the payment page's flow in one object.

``open_payment`` takes the merchant's sealed request (nothing is recorded when it is refused), ``pay`` one
card attempt (the confirmation is posted to the terminal's CGI2 and its acknowledgement checked; a bad one is
an alert and the payment stands; an accepted one is mailed to the merchant when the terminal asks for it),
``abandon`` the buyer's "cancel and return". ``settle`` does what falls due on the bank's side — the end of
deferral periods, a split payment's later instalments (their confirmations posted like the first) — and runs
before every request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from .cards import AMEX, Card, read_card
from .exceptions import CardError, ClosedReference, ConcurrentChangeError, RequestError, SessionError
from .ledger import Ledger
from .mails import payment_confirmation
from .payment_record import Attempt, Instalment, Payment, Status, new_authorisation_number, new_session
from .protocol import (
    ConfirmationFacts,
    KeptCard,
    Poster,
    PostResult,
    check_acknowledgement,
    confirmation_body,
    confirmation_fields,
    failure,
    post_confirmation,
    read_request,
)
from .rules import accept, ask_instalment, end_of_period
from .terminals import BankConfig, BankTerminal


def utc_now() -> datetime:
    return datetime.now(UTC)


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


def kept_card(payment: Payment) -> KeptCard:
    return KeptCard(payment.brand, payment.card, payment.card_hash, payment.card_expiry, payment.cvv_entered)


class Bank:
    def __init__(
        self,
        config: BankConfig,
        *,
        ledger: Ledger | None = None,
        clock: Callable[[], datetime] = utc_now,
        poster: Poster = post_confirmation,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.ledger = ledger if ledger is not None else Ledger.from_environment()
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

    # -- the confirmation to the merchant's CGI2 ------------------------------------------------------------

    def _confirm(self, terminal: BankTerminal, facts: ConfirmationFacts) -> str:
        """Post one confirmation; "" when it was acknowledged, else what was wrong (the alert's detail).

        Whatever happens to it is the merchant's problem, never the buyer's: a post that fails in any way is an
        alert and the payment stands."""
        try:
            body = confirmation_body(confirmation_fields(terminal, facts))
            answer = self.poster(terminal.cgi2_url, body, self.timeout)
        except Exception as exc:  # any failure of the post is a failed post
            answer = PostResult(0, "", b"", failure(exc))
        return check_acknowledgement(answer)

    def _alert(self, payment: Payment, at: datetime, detail: str) -> None:
        self.ledger.alert(payment.tpe, payment.reference, at, detail)

    # -- what falls due on the bank's side ------------------------------------------------------------------

    def settle(self) -> list[Payment]:
        """The end of deferral periods and the later instalments due by now; the payments it changed."""
        now = self.now()
        settled = []
        for tpe, reference in self.ledger.due(now):
            terminal = self.config.get(tpe)
            if terminal is None:
                continue

            def due_work(payment: Payment, terminal: BankTerminal = terminal) -> tuple[bool, list[int]]:
                ended = end_of_period(payment, terminal, now)
                asked = []
                for instalment in payment.waiting_instalments():
                    # Booked on its day, however late this runs (a clock moved forward, a quiet sandbox).
                    at = payment.instalment_due_at(instalment)
                    if at <= now:
                        ask_instalment(payment, instalment, at)
                        asked.append(instalment.number)
                return ended, asked

            # Two requests settling at once: the second re-reads, finds nothing due, and sends nothing.
            payment, (ended, asked) = self.ledger.update(tpe, reference, due_work)
            for number in asked:
                payment = self._confirm_instalment(terminal, payment, number)
            if ended or asked:
                settled.append(payment)
        return settled

    def _confirm_instalment(self, terminal: BankTerminal, payment: Payment, number: int) -> Payment:
        instalment = next(i for i in payment.instalments if i.number == number)
        assert instalment.at is not None  # asked by settle
        facts = ConfirmationFacts(
            reference=payment.reference,
            amount=payment.amount,
            free_text=payment.free_text,
            at=instalment.at,
            card=kept_card(payment),
            refusal=instalment.refusal,
            authorisation_number=instalment.authorisation_number,
            client_ip=payment.client_ip,
            instalment_amount=payment.money(instalment.amount),
            instalment=number,
        )
        problem = self._confirm(terminal, facts)

        def record(stored: Payment) -> None:
            kept: Instalment = next(i for i in stored.instalments if i.number == number)
            kept.acknowledged, kept.acknowledgement = not problem, problem
            stored.acknowledgement_failed = stored.acknowledgement_failed or bool(problem)

        payment, _ = self.ledger.update(payment.tpe, payment.reference, record)
        if problem:
            self._alert(payment, instalment.at, f"{instalment.return_code}: {problem}")
        return payment

    # -- the payment page -----------------------------------------------------------------------------------

    def open_payment(self, body: bytes) -> Payment:
        """The buyer arrives with the merchant's form: a payment session, new or resumed."""
        request = read_request(body, self.config)
        now = self.now()
        new = Payment(
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
            instalments=[
                Instalment(number, day, money.amount) for number, (day, money) in enumerate(request.instalments, 1)
            ],
            card_alias=request.options.get("aliascb", ""),
            force_card_entry=request.options.get("forcesaisiecb") == "1",
        )
        if self.ledger.create(new):
            return new

        def resume(existing: Payment) -> None:
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
            existing.session = new_session()

        payment, _ = self.ledger.update(request.terminal.tpe, request.reference, resume)
        return payment

    def session(self, session: str) -> Payment:
        payment = self.ledger.by_session(session)
        if payment is None:
            raise SessionError(session)
        return payment

    def _card(self, payment: Payment, typed: tuple[str, str, str, str], saved: bool, now: datetime) -> Card:
        """The card of this attempt: as typed, or the one on file with its cryptogram typed (the bank asks it
        again when the card has one)."""
        number, month, year, cvv = typed
        if saved:
            kept = self.ledger.card_on_file(payment)
            if kept is None:
                raise CardError("card_number", "no_saved_card")
            if kept.cvv_entered and not cvv.strip():
                raise CardError("cvv", "invalid_cid" if kept.brand == AMEX else "invalid_cvv")
            number, month, year = kept.number, str(kept.expiry_month), str(kept.expiry_year)
        american_express = self.terminal(payment.tpe).american_express
        return read_card(number, month, year, cvv, now.date(), american_express=american_express)

    def _keep_card(self, payment: Payment, card: Card) -> bool:
        """Keep the accepted card under the payment's alias; whether a new one was kept (``cbenregistree``).

        The payment is accepted already: a card that could not be kept is simply not kept (``cbenregistree=0``),
        and the confirmation still goes."""
        try:
            return self.ledger.keep_card(payment, card)
        except (ClientError, BotoCoreError, ConcurrentChangeError):
            return False

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
        attempt = self._attempt(terminal, session, card, authorisation, client_ip, now)
        payment, index = self.ledger.update(payment.tpe, payment.reference, attempt)
        if index is None:
            if payment.status is Status.OPEN:
                return AttemptResult(payment, expired=True)
            return AttemptResult(payment, payment.attempts[-1] if payment.attempts else None)
        payment, attempted = self._confirm_attempt(terminal, payment, index, card, authorisation, client_ip, now)
        return AttemptResult(payment, attempted)

    def _attempt(
        self, terminal: BankTerminal, session: str, card: Card, authorisation: str, client_ip: str, now: datetime
    ) -> Callable[[Payment], int | None]:
        """The change an attempt makes to the stored payment: the attempt's index, None when it came too late."""
        refusal = card.refusal

        def attempt(stored: Payment) -> int | None:
            if stored.session != session:
                raise SessionError(session)  # a newer session of the same order took over
            if stored.status is not Status.OPEN or stored.session_expired(now):
                return None  # a double click: the other click's attempt stands
            stored.attempts.append(
                Attempt(
                    now, card.masked, card.brand, refusal, authorisation,
                    "Annulation" if refusal else "payetest", cvv_entered=card.cvv_entered,
                )
            )  # fmt: skip
            if refusal:
                if stored.attempts_left <= 0:
                    stored.status = Status.REFUSED
            else:
                stored.card, stored.brand = card.masked, card.brand
                stored.card_hash, stored.card_expiry, stored.cvv_entered = card.hashed, card.expiry, card.cvv_entered
                stored.client_ip, stored.later_refusal = client_ip, card.later_refusal
                accept(stored, terminal, now, authorisation)
            return len(stored.attempts) - 1

        return attempt

    def _confirm_attempt(
        self,
        terminal: BankTerminal,
        payment: Payment,
        index: int,
        card: Card,
        authorisation: str,
        client_ip: str,
        now: datetime,
    ) -> tuple[Payment, Attempt]:
        """The confirmation of the attempt recorded at ``index`` to the merchant's CGI2, and what came of it."""
        refusal = card.refusal
        facts = ConfirmationFacts(
            reference=payment.reference,
            amount=payment.amount,
            free_text=payment.free_text,
            at=now,
            card=card,
            refusal=refusal,
            authorisation_number=authorisation,
            client_ip=client_ip,
            instalment_amount=payment.first_instalment,
            card_saved=not refusal and self._keep_card(payment, card),
        )
        # The confirmation travels outside any write: the merchant's CGI2 may take its time.
        problem = self._confirm(terminal, facts)

        def record(stored: Payment) -> None:
            stored.attempts[index].acknowledged = not problem
            stored.attempts[index].acknowledgement = problem
            stored.acknowledgement_failed = stored.acknowledgement_failed or bool(problem)

        payment, _ = self.ledger.update(payment.tpe, payment.reference, record)
        if problem:
            self._alert(payment, now, f"{payment.attempts[index].return_code}: {problem}")
        if not refusal and terminal.confirmation_mail:
            self._mail_merchant(terminal, payment, now)
        return payment, payment.attempts[index]

    def _mail_merchant(self, terminal: BankTerminal, payment: Payment, at: datetime) -> None:
        """The optional confirmation mail to the merchant. The payment is accepted and confirmed already: a mail
        that could not be recorded is not sent, and the buyer still gets the receipt."""
        with contextlib.suppress(ClientError, BotoCoreError):
            self.ledger.merchant_mail(payment_confirmation(terminal, payment, at))

    def abandon(self, session: str) -> Payment:
        """The buyer's "cancel and return to the merchant": no card, no confirmation; the order may be paid later."""
        payment = self.session(session)

        def leave(stored: Payment) -> None:
            if stored.session == session and stored.status is Status.OPEN:
                stored.status = Status.ABANDONED

        payment, _ = self.ledger.update(payment.tpe, payment.reference, leave)
        return payment
