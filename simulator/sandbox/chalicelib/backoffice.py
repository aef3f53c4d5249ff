"""The back-office CGIs (docs/protocol.md, Back-office calls), server to server: capture / cancel, refund, status.

Each takes the posted body, checks the seal and the fields, applies the bank's rules to the ledger and
answers what the merchant's client parses (``sealing.parse_lines_answer`` / ``parse_status_answer``):

- ``capture_paiement.cgi``: lines ``version=1.0``, ``reference``, ``cdr`` (1 accepted, 0 refused, -1 error),
  ``lib``, ``aut``, and ``date_remise`` (the day the capture is booked, in the terminal's zone: what a later
  refund must send; no public source shows this line, the sandbox adds it). Cancel is ``montant_a_capturer=0``
  with ``montant_restant=0``. A deferred authorisation's capture asks the card's bank first: a refused
  authorisation is ``cdr=0`` and nothing is captured.
- ``recredit_paiement.cgi``: ``cdr=0`` done; -30 caller not allowed, -46 already fully refunded, -48 refused
  (or a partial refund the contract does not allow), -51 a full refund the contract does not allow,
  -52 ``montant_possible`` is not what the bank can still refund; -1 a bad seal or field.
- ``etatpaiement.cgi``: XML with ``etat`` (PA paid, AN cancelled, RE refused, AP awaiting payment),
  ``numauto``, ``montantrecouvre``, ``recredits``, and the sandbox's own ``montantrestant`` and ``dateremise``
  (the day of the last capture).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from sealing import (
    DAY_FORMAT,
    FieldError,
    MalformedMessageError,
    Money,
    ReceivedForm,
    SealingError,
    SealMismatchError,
    Variant,
    parse_form,
    parse_wire_amount,
    verify_confirmation,
)
from sealing import DAY_PATTERN as _DAY
from sealing import ORDER_DATE_PATTERN as _ORDER_DATE

from . import rules
from .exceptions import Refusal
from .ledger import Ledger
from .payment_record import Declined, Payment
from .terminals import BankConfig, BankTerminal

_ZERO_AMOUNT = re.compile(r"0[A-Z]{3}")


def lines(**fields: str) -> str:
    """A ``name=value`` lines answer."""
    return "".join(f"{name}={value}\n" for name, value in fields.items())


@dataclass(frozen=True)
class Message:
    """A sealed back-office message that passed the seal and format checks."""

    terminal: BankTerminal
    texts: dict[str, str]

    def text(self, name: str) -> str:
        value = self.texts.get(name)
        if value is None:
            raise Refusal(-1, f"parametre manquant: {name}")
        return value

    def amount(self, name: str) -> Money:
        text = self.text(name)
        try:
            return parse_wire_amount(text, name)
        except FieldError:
            raise Refusal(-1, f"parametre incorrect: {name}={text[:20]}") from None

    def day(self, name: str) -> str:
        text = self.text(name)
        if not _DAY.fullmatch(text):
            raise Refusal(-1, f"parametre incorrect: {name}={text[:20]} (jj/mm/aaaa)")
        return text


def _read(body: bytes, config: BankConfig, variant_of: str, client_ip: str) -> Message:
    """Seal and shape checks common to every CGI; ``Refusal(-1)`` (or -30 for the IP) when they fail."""
    try:
        form: ReceivedForm = parse_form(body)
        tpe = form.tpe
    except SealingError:
        raise Refusal(-1, "requete illisible") from None
    terminal = config.get(tpe)
    if terminal is None:
        raise Refusal(-1, "TPE inconnu")
    if terminal.backoffice_ips and client_ip not in terminal.backoffice_ips:
        raise Refusal(-30, "adresse IP de l'appelant non autorisee")
    variant = terminal.terminal.seal.for_capture() if variant_of == "capture" else Variant.DSP2
    try:
        verify_confirmation(form, terminal.key, variant, tpe=terminal.tpe)
    except SealMismatchError:
        raise Refusal(-1, "commande non authentifiee (sceau invalide)") from None
    except (MalformedMessageError, SealingError):
        raise Refusal(-1, "commande non authentifiee (MAC absent)") from None
    try:
        texts = {name: value.decode("utf-8") for name, value in form.fields}
    except UnicodeDecodeError:
        raise Refusal(-1, "requete illisible (UTF-8)") from None
    message = Message(terminal, texts)
    if not _ORDER_DATE.fullmatch(message.text("date")):
        raise Refusal(-1, "parametre incorrect: date (jj/mm/aaaa:hh:mm:ss)")
    if message.text("societe") != terminal.societe:
        raise Refusal(-1, "parametre incorrect: societe")
    return message


def _booked_on(payment: Payment, moment: datetime) -> str:
    """A capture's day as the bank books it (``date_remise``): in the terminal's zone, like the order's date."""
    return moment.astimezone(payment.ordered_at.tzinfo).strftime(DAY_FORMAT)


def _payment(message: Message, store: Ledger, refused: int) -> Payment:
    payment = store.get(message.terminal.tpe, message.text("reference"))
    if payment is None:
        raise Refusal(refused, "commande inexistante")
    return payment


def _check_order(message: Message, payment: Payment, refused: int) -> None:
    """``refused`` is the CGI's "refused" code: 0 for a capture, -48 for a refund (where 0 means done)."""
    if message.amount("montant") != payment.amount:
        raise Refusal(refused, f"montant errone: la commande est de {payment.amount.wire()}")
    if message.day("date_commande") != payment.ordered_at.strftime(DAY_FORMAT):
        raise Refusal(refused, "date de commande erronee")


def _zero_or_amount(message: Message, name: str, currency: str) -> Decimal:
    text = message.text(name)
    amount = Money(Decimal(0), text[1:]) if _ZERO_AMOUNT.fullmatch(text) else message.amount(name)
    if amount.currency != currency:
        raise Refusal(-1, f"parametre incorrect: {name} n'est pas en {currency}")
    return amount.amount


def _capture(message: Message, payment: Payment, now: datetime, by: str) -> str:
    """The capture (or cancel) on the payment as stored: the answer's lines, or ``Refusal``."""
    reference = payment.reference
    _check_order(message, payment, 0)
    if not payment.status.pending:
        raise rules.not_pending(payment)
    currency = payment.currency
    to_capture = _zero_or_amount(message, "montant_a_capturer", currency)
    already = _zero_or_amount(message, "montant_deja_capture", currency)
    left = _zero_or_amount(message, "montant_restant", currency)
    if already != payment.captured:
        raise Refusal(0, f"montant deja capture errone: la banque a capture {payment.captured} {currency}")
    if to_capture == 0 and left == 0:
        rules.cancel(payment, now)
        return lines(version="1.0", reference=reference, cdr="1", lib="commande annulee", aut="")
    if to_capture + already + left != payment.amount.amount:
        raise Refusal(-1, "montant != montant_a_capturer + montant_deja_capture + montant_restant")
    if to_capture == 0:
        raise Refusal(-1, "montant a capturer nul")
    if left != payment.open_amount - to_capture and payment.status.pending:
        raise Refusal(0, f"montant restant errone: il reste {payment.open_amount} {currency}")
    done = rules.capture(payment, to_capture, now, by or "back-office")
    if isinstance(done, Declined):  # kept on the payment, so written: the answer is still a refusal
        return lines(version="1.0", reference=reference, cdr="0", lib=rules.declined_label(done))
    return lines(
        version="1.0", reference=reference, cdr="1", lib="paiement accepte", aut=done.authorisation_number,
        date_remise=_booked_on(payment, done.at),
    )  # fmt: skip


def capture_cgi(body: bytes, config: BankConfig, store: Ledger, now: datetime, client_ip: str, by: str = "") -> str:
    """``capture_paiement.cgi``: capture, or cancel (``montant_a_capturer=0`` and ``montant_restant=0``)."""
    reference = ""
    try:
        message = _read(body, config, "capture", client_ip)
        reference = message.text("reference")
        payment = _payment(message, store, 0)
        _, answer = store.update(payment.tpe, payment.reference, lambda stored: _capture(message, stored, now, by))
        return answer
    except Refusal as refusal:
        return lines(version="1.0", reference=reference, cdr=str(refusal.code), lib=refusal.label)


def _refund(message: Message, payment: Payment, now: datetime) -> None:
    _check_order(message, payment, -48)
    if message.text("num_autorisation") != payment.authorisation_number:
        raise Refusal(-48, "recredit refuse: numero d'autorisation errone")
    capture_days = {_booked_on(payment, c.at) for c in payment.captures}
    if payment.captures and message.day("date_remise") not in capture_days:
        raise Refusal(-48, "recredit refuse: date de remise erronee")
    amount = message.amount("montant_recredit")
    possible = message.amount("montant_possible")
    if amount.currency != payment.currency or possible.currency != payment.currency:
        raise Refusal(-48, f"recredit refuse: devise autre que {payment.currency}")
    if payment.captured and payment.refundable == 0 and payment.refunded:
        raise Refusal(-46, "commande deja totalement recreditee")
    if possible.amount != payment.refundable:
        raise Refusal(-52, f"montant deja recredite errone: le montant possible est {payment.refundable}")
    rules.refund(payment, amount.amount, message.terminal.refunds, now, "back-office")


def refund_cgi(body: bytes, config: BankConfig, store: Ledger, now: datetime, client_ip: str) -> str:
    """``recredit_paiement.cgi``: refund all or part of a captured payment."""
    reference = ""
    try:
        message = _read(body, config, "refund", client_ip)
        reference = message.text("reference")
        payment = _payment(message, store, -48)
        store.update(payment.tpe, payment.reference, lambda stored: _refund(message, stored, now))
        return lines(version="1.0", reference=reference, cdr="0", lib="recredit effectue")
    except Refusal as refusal:
        return lines(version="1.0", reference=reference, cdr=str(refusal.code), lib=refusal.label)


def _xml(**elements: str) -> str:
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<etatpaiement>{inner}</etatpaiement>\n'


def status_cgi(body: bytes, config: BankConfig, store: Ledger, now: datetime, client_ip: str) -> str:
    """``etatpaiement.cgi``: what the bank knows of a payment, as XML."""
    try:
        message = _read(body, config, "status", client_ip)
        reference = message.text("reference")
        if message.text("version") != "2.0":
            raise Refusal(-1, "parametre incorrect: version (2.0)")
        requested = message.amount("montant")
        payment = store.get(message.terminal.tpe, reference)
        if payment is None:
            zero = f"0{requested.currency}"
            return _xml(version="2.0", reference=reference, etat="AP", numauto="", montant=requested.wire(),
                        montantrecouvre=zero, recredits=zero, lib="commande inconnue")  # fmt: skip
        if requested != payment.amount:
            raise Refusal(0, f"montant errone: la commande est de {payment.amount.wire()}")
        state = payment.bank_state
        captured_on = _booked_on(payment, payment.captures[-1].at) if payment.captures else ""
        return _xml(
            version="2.0",
            reference=reference,
            etat=state,
            numauto=payment.authorisation_number,
            montant=payment.amount.wire(),
            montantrecouvre=payment.money(payment.captured).wire(),
            recredits=payment.money(payment.refunded).wire(),
            montantrestant=payment.money(payment.open_amount).wire(),
            datecommande=payment.ordered_at.strftime(DAY_FORMAT),
            dateremise=captured_on,
            lib=payment.status.value,
        )
    except Refusal as refusal:
        return _xml(version="2.0", cdr=str(refusal.code), lib=refusal.label)
