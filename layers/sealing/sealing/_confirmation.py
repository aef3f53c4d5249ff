"""The confirmation (CGI2, the seed's ``TestMAC``): the bank's sealed post, parsed and verified."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_to_bytes

from ._formats import parse_confirmation_date
from ._key import MerchantKey
from ._money import Money, parse_wire_amount
from ._seal import MAC_FIELD, PROTOCOL_VERSION, Variant, verify
from .exceptions import FieldError, MalformedMessageError, MissingFieldError

MAX_BODY_BYTES = 64 * 1024
_NAME = re.compile(rb"[A-Za-z0-9_.\-]{1,64}")
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_RETURN_CODE = re.compile(r"(paiement|payetest|Annulation)(?:_pf([2-4]))?")


class Outcome(enum.Enum):
    """What the bank says happened to the payment (``code-retour``)."""

    ACCEPTED = "paiement"
    ACCEPTED_TEST = "payetest"
    REFUSED = "Annulation"

    @property
    def accepted(self) -> bool:
        return self is not Outcome.REFUSED


@dataclass(frozen=True)
class ReturnCode:
    """``code-retour``: the outcome, and the instalment number for ``_pfN`` codes (else ``None``)."""

    outcome: Outcome
    instalment: int | None = None

    @classmethod
    def parse(cls, text: str) -> ReturnCode:
        match = _RETURN_CODE.fullmatch(text)
        if not match:
            raise FieldError("code-retour", f"{text!r} is not a return code the bank sends")
        return cls(Outcome(match[1]), int(match[2]) if match[2] else None)

    def __str__(self) -> str:
        return self.outcome.value + (f"_pf{self.instalment}" if self.instalment else "")


@dataclass(frozen=True)
class ReceivedForm:
    """A form-urlencoded body, decoded to exact bytes, in the order received."""

    fields: tuple[tuple[str, bytes], ...]

    def get(self, name: str) -> bytes | None:
        for field_name, value in self.fields:
            if field_name == name:
                return value
        return None

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else _text(value)

    def require(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise MissingFieldError(name)
        return value

    @property
    def mac(self) -> str:
        return self.require(MAC_FIELD)

    @property
    def tpe(self) -> str:
        return self.require("TPE")


def _text(value: bytes) -> str:
    # The kits were Latin-1, today's pages UTF-8; every byte string decodes as one or the other.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def parse_form(body: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> ReceivedForm:
    """Split an ``application/x-www-form-urlencoded`` body into fields without re-encoding anything."""
    if not isinstance(body, (bytes, bytearray)):
        raise MalformedMessageError("the body must be bytes")
    if not body.strip():
        raise MalformedMessageError("the body is empty")
    if len(body) > max_bytes:
        raise MalformedMessageError(f"the body is {len(body)} bytes, more than {max_bytes}")
    fields: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for part in bytes(body).split(b"&"):
        if not part:
            continue
        raw_name, sep, raw_value = part.partition(b"=")
        if not sep:
            raise MalformedMessageError(f"a field has no '=': {part[:40]!r}")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        if not _NAME.fullmatch(name_bytes):
            raise MalformedMessageError(f"{name_bytes[:40]!r} is not a field name")
        name = name_bytes.decode("ascii")
        if name in seen:
            raise MalformedMessageError(f"the field {name} appears twice")
        seen.add(name)
        fields.append((name, unquote_to_bytes(raw_value.replace(b"+", b" "))))
    if not fields:
        raise MalformedMessageError("the body holds no field")
    return ReceivedForm(tuple(fields))


@dataclass(frozen=True)
class Confirmation:
    """A verified confirmation, in the domain's words. ``fields`` keeps everything received."""

    tpe: str
    reference: str
    return_code: ReturnCode
    amount: Money
    paid_at: datetime | None
    authorisation_number: str
    card_brand: str
    three_ds_status: int | None
    refusal_reason: str
    authorisation_refusal_reason: str
    instalment_amount: Money | None
    card_expiry: str
    cvx_entered: bool | None
    free_text: str
    fields: tuple[tuple[str, str], ...]

    @property
    def accepted(self) -> bool:
        return self.return_code.outcome.accepted

    @property
    def is_test_payment(self) -> bool:
        return self.return_code.outcome is Outcome.ACCEPTED_TEST

    def field(self, name: str) -> str | None:
        return dict(self.fields).get(name)


def _optional_int(form: ReceivedForm, name: str) -> int | None:
    text = form.text(name)
    if text in (None, ""):
        return None
    assert text is not None
    if not _INTEGER.fullmatch(text):  # int() would also take " 1", "1_0" and non-ASCII digits
        raise FieldError(name, f"{text[:20]!r} is not a number")
    return int(text)


def read_confirmation(form: ReceivedForm) -> Confirmation:
    """The typed view of a (verified) confirmation; a malformed value raises ``FieldError`` naming it."""
    amount = parse_wire_amount(form.require("montant"), "montant")
    instalment_text = form.text("montantech") or ""
    date_text = form.text("date")
    cvx = form.text("cvx")
    return Confirmation(
        tpe=form.tpe,
        reference=form.require("reference"),
        return_code=ReturnCode.parse(form.require("code-retour")),
        amount=amount,
        paid_at=parse_confirmation_date(date_text) if date_text else None,
        authorisation_number=form.text("numauto") or "",
        card_brand=form.text("brand") or "",
        three_ds_status=_optional_int(form, "status3ds"),
        refusal_reason=form.text("motifrefus") or "",
        authorisation_refusal_reason=form.text("motifrefusautorisation") or "",
        instalment_amount=parse_wire_amount(instalment_text, "montantech") if instalment_text else None,
        card_expiry=form.text("vld") or "",
        cvx_entered={"oui": True, "non": False}.get(cvx or ""),
        free_text=form.text("texte-libre") or "",
        fields=tuple((name, _text(value)) for name, value in form.fields),
    )


def verify_confirmation(
    form: ReceivedForm,
    key: MerchantKey,
    variant: Variant = Variant.DSP2,
    *,
    tpe: str | None = None,
    version: str = PROTOCOL_VERSION,
) -> ReceivedForm:
    """Check the seal over exactly the fields received; ``SealMismatchError`` when it does not hold."""
    verify(key, form.fields, form.mac, variant, tpe=tpe, version=version)
    return form
