"""Back-office messages (docs/protocol.md, Back-office calls): sealed capture, cancel, refund and status
requests, and their answers.

Only the messages live here; sending them is the ``orders`` layer's bank client.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ._formats import DAY_FORMAT, check_reference, format_day, format_order_date, local_time
from ._money import Money, parse_wire_amount
from ._seal import MAC_FIELD, Variant, seal
from ._terminal import Terminal
from .exceptions import BankAnswerError, FieldError, MalformedMessageError

CAPTURE_CGI = "capture_paiement.cgi"
REFUND_CGI = "recredit_paiement.cgi"
STATUS_CGI = "etatpaiement.cgi"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class BackOfficeRequest:
    """A sealed server-to-server call: the CGI to post to and its ordered fields (``MAC`` last)."""

    cgi: str
    fields: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)


def _amount_or_zero(money: Money) -> str:
    # The kits write a nil amount as ``0EUR`` (cancel: montant_a_capturer=0EUR, montant_restant=0EUR).
    return f"0{money.currency}" if money.is_zero() else money.wire()


def _sealed(terminal: Terminal, cgi: str, fields: list[tuple[str, str]], variant: Variant) -> BackOfficeRequest:
    fields.append((MAC_FIELD, seal(terminal.key, fields, variant)))
    return BackOfficeRequest(cgi, tuple(fields))


def _capture_message(
    terminal: Terminal,
    reference: str,
    ordered_on: date,
    total: Money,
    amounts: tuple[Money, Money, Money],
    at: datetime,
    language: str,
    free_text: str,
) -> BackOfficeRequest:
    check_reference(reference)
    to_capture, already_captured, remaining = amounts
    fields = [
        ("version", terminal.version),
        ("TPE", terminal.tpe),
        ("date", format_order_date(local_time(at, terminal.timezone))),
        ("date_commande", format_day(ordered_on)),
        ("montant", total.wire()),
        ("montant_a_capturer", _amount_or_zero(to_capture)),
        ("montant_deja_capture", _amount_or_zero(already_captured)),
        ("montant_restant", _amount_or_zero(remaining)),
        ("reference", reference),
        ("texte-libre", free_text),
        ("lgue", language),
        ("societe", terminal.societe),
    ]
    return _sealed(terminal, CAPTURE_CGI, fields, terminal.seal.for_capture())


def capture_request(
    terminal: Terminal,
    *,
    reference: str,
    ordered_on: date,
    total: Money,
    to_capture: Money,
    already_captured: Money,
    remaining: Money,
    at: datetime,
    language: str = "FR",
    free_text: str = "",
) -> BackOfficeRequest:
    """Capture ``to_capture`` now, leaving ``remaining`` for later. Checks the bank's sum rule."""
    amounts = (to_capture, already_captured, remaining)
    for name, part in zip(("to_capture", "already_captured", "remaining"), amounts, strict=True):
        if part.currency != total.currency:
            raise FieldError(name, f"must be in {total.currency}")
    if to_capture.is_zero():
        raise FieldError("to_capture", "must be greater than zero (use cancel_request to cancel)")
    if to_capture + already_captured + remaining != total:
        raise FieldError(
            "montant", f"{to_capture} + {already_captured} + {remaining} does not make the order's {total}"
        )
    return _capture_message(terminal, reference, ordered_on, total, amounts, at, language, free_text)


def cancel_request(
    terminal: Terminal,
    *,
    reference: str,
    ordered_on: date,
    total: Money,
    already_captured: Money,
    at: datetime,
    language: str = "FR",
) -> BackOfficeRequest:
    """Cancel what is left of an authorisation: ``montant_a_capturer=0`` and ``montant_restant=0``."""
    if already_captured.currency != total.currency or already_captured.amount > total.amount:
        raise FieldError("already_captured", f"{already_captured} does not fit the order's {total}")
    nothing = Money(Decimal(0), total.currency)
    amounts = (nothing, already_captured, nothing)
    return _capture_message(terminal, reference, ordered_on, total, amounts, at, language, "")


def refund_request(
    terminal: Terminal,
    *,
    reference: str,
    ordered_on: date,
    captured_on: date,
    authorisation_number: str,
    total: Money,
    refund: Money,
    refundable: Money,
    at: datetime,
    language: str = "FR",
) -> BackOfficeRequest:
    """Refund ``refund`` of a captured order; ``refundable`` is what the bank still allows (``montant_possible``)."""
    check_reference(reference)
    for name, part in (("refund", refund), ("refundable", refundable)):
        if part.currency != total.currency:
            raise FieldError(name, f"must be in {total.currency}")
    if refund.is_zero():
        raise FieldError("refund", "must be greater than zero")
    if refund.amount > refundable.amount:
        raise FieldError("refund", f"{refund} is more than the {refundable} that can be refunded")
    fields = [
        ("version", terminal.version),
        ("TPE", terminal.tpe),
        ("date", format_order_date(local_time(at, terminal.timezone))),
        ("date_commande", format_day(ordered_on)),
        ("date_remise", format_day(captured_on)),
        ("num_autorisation", authorisation_number),
        ("montant", total.wire()),
        ("montant_recredit", refund.wire()),
        ("montant_possible", refundable.wire()),
        ("reference", reference),
        ("lgue", language),
        ("societe", terminal.societe),
    ]
    # No public source gives a legacy fixed-order refund string: refunds are sealed sorted
    # (docs/protocol.md, Open questions).
    return _sealed(terminal, REFUND_CGI, fields, Variant.DSP2)


def status_request(terminal: Terminal, *, reference: str, total: Money, at: datetime) -> BackOfficeRequest:
    """Ask the bank what it knows of an order (``etatpaiement.cgi``)."""
    check_reference(reference)
    fields = [
        ("version", "2.0"),
        ("TPE", terminal.tpe),
        ("date", format_order_date(local_time(at, terminal.timezone))),
        ("montant", total.wire()),
        ("reference", reference),
        ("societe", terminal.societe),
    ]
    return _sealed(terminal, STATUS_CGI, fields, Variant.DSP2)


# --- answers ---------------------------------------------------------------------------------------


class CaptureResult(enum.Enum):
    """``cdr`` of ``capture_paiement.cgi``: 1 accepted, 0 refused, -1 error."""

    ACCEPTED = 1
    REFUSED = 0
    ERROR = -1


REFUND_ERRORS: dict[int, str] = {
    -30: "the caller's IP address is not allowed",
    -46: "the order is already fully refunded",
    -48: "refund refused, or partial refund not allowed",
    -51: "full refund not allowed",
    -52: "wrong already-refunded amount",
}


@dataclass(frozen=True)
class LinesAnswer:
    """A back-office answer made of ``name=value`` lines."""

    cdr: int
    label: str
    fields: dict[str, str]

    @property
    def authorisation_number(self) -> str:
        return self.fields.get("aut", "")

    @property
    def capture_day(self) -> date | None:
        """The day the bank books the capture (``date_remise``, dd/mm/yyyy), when its answer says it.

        No public source documents this line; the sandbox bank sends it. Absent or unreadable, it is
        ``None``: the capture itself stands, only its date is unknown.
        """
        return _optional_day(self.fields.get("date_remise", ""))


def _read_text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    if len(body) > MAX_ANSWER_BYTES:
        raise MalformedMessageError(f"the answer is {len(body)} bytes, more than {MAX_ANSWER_BYTES}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _optional_day(text: str) -> date | None:
    """A ``dd/mm/yyyy`` day of the bank's answer; absent or unreadable, ``None``."""
    try:
        return datetime.strptime(text, DAY_FORMAT).date() if text else None
    except ValueError:
        return None


_LINE = re.compile(r"([A-Za-z0-9_\-]+)=(.*)")
_CDR = re.compile(r"-?[0-9]{1,9}")


def parse_lines_answer(body: bytes | str) -> LinesAnswer:
    """Parse ``version=1.0\ncdr=1\nlib=...`` (lines, or ``&``-separated pairs); ``cdr`` is required."""
    text = _read_text(body).strip()
    separator = "\n" if "\n" in text else "&"
    fields: dict[str, str] = {}
    for line in text.split(separator):
        line = line.strip("\r ")
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise MalformedMessageError(f"the answer line {line[:60]!r} is not name=value")
        fields[match[1]] = match[2]
    if "cdr" not in fields:
        raise MalformedMessageError("the answer has no cdr")
    if not _CDR.fullmatch(fields["cdr"]):
        raise MalformedMessageError(f"the answer's cdr {fields['cdr'][:20]!r} is not a number")
    return LinesAnswer(cdr=int(fields["cdr"]), label=fields.get("lib", ""), fields=fields)


def capture_result(answer: LinesAnswer) -> CaptureResult:
    try:
        return CaptureResult(answer.cdr)
    except ValueError:
        raise MalformedMessageError(f"cdr={answer.cdr} is not a capture answer") from None


class PaymentState(enum.Enum):
    """``etat`` of ``etatpaiement.cgi``."""

    PAID = "PA"
    CANCELLED = "AN"
    REFUSED = "RE"
    REJECTED = "GR"
    AWAITING = "AP"

    @property
    def failed(self) -> bool:
        return self in (PaymentState.REFUSED, PaymentState.REJECTED, PaymentState.AWAITING)


@dataclass(frozen=True)
class StatusAnswer:
    """What the bank knows of an order: its state, authorisation, amount collected and refunded.

    ``remaining`` (``montantrestant``: still authorised, neither captured nor cancelled) and ``captured_on``
    (``dateremise``: the day of the last capture) are given by the sandbox bank; ``None`` when absent.
    """

    state: PaymentState
    authorisation_number: str
    collected: Money | None
    refunded: Money | None
    fields: dict[str, str]
    remaining: Money | None = None
    captured_on: date | None = None


def _status_fields(root: ElementTree.Element) -> dict[str, str]:
    """The answer's values by element name, found at any depth, the first of a name counting; what is inside
    ``recredits`` (the refunds one by one, and their ``total``) is read apart, as ``recredits``."""
    fields: dict[str, str] = {}
    refunds: list[ElementTree.Element] = []
    stack = [root]
    while stack:  # depth-first, in document order, without recursion (answers may nest deeply)
        element = stack.pop()
        if element.tag == "recredits" and len(element):
            refunds.append(element)
            continue
        if len(element) == 0:
            fields.setdefault(element.tag, (element.text or "").strip())
        stack.extend(reversed(element))
    if refunds and "recredits" not in fields:
        # <recredits><recredit>...</recredit><total>10.00EUR</total></recredits>: the total is what was refunded
        total = refunds[0].find("total")
        if total is None:
            raise MalformedMessageError("the status answer lists refunds (recredits) without their total")
        fields["recredits"] = (total.text or "").strip()
    return fields


def parse_status_answer(body: bytes | str) -> StatusAnswer:
    """Parse the XML answer of ``etatpaiement.cgi`` (elements found at any depth).

    An answer with a ``cdr`` and no ``etat`` is the bank's error (a bad seal, an unknown amount...):
    ``BankAnswerError`` with its code and label.
    """
    text = _read_text(body)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise MalformedMessageError("the status answer declares a DTD or entities")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - DTDs and entities are refused above
    except ElementTree.ParseError as exc:
        raise MalformedMessageError(f"the status answer is not XML: {exc}") from None
    fields = _status_fields(root)
    if not fields.get("etat") and fields.get("cdr"):
        raise BankAnswerError(fields["cdr"][:20], fields.get("lib", "")[:200])
    try:
        state = PaymentState(fields.get("etat", ""))
    except ValueError:
        raise MalformedMessageError(f"the status answer's etat {fields.get('etat', '')[:10]!r} is unknown") from None

    def money(name: str) -> Money | None:
        value = fields.get(name, "")
        if not value:
            return None
        try:
            return parse_wire_amount(value, name)
        except FieldError as exc:
            raise MalformedMessageError(str(exc)) from None

    return StatusAnswer(
        state=state,
        authorisation_number=fields.get("numauto", ""),
        collected=money("montantrecouvre"),
        refunded=money("recredits"),
        fields=fields,
        remaining=money("montantrestant"),
        captured_on=_optional_day(fields.get("dateremise", "")),
    )
