"""The confirmation (CGI2, the kits' ``TestMAC``): the bank's sealed post, parsed and verified."""

from __future__ import annotations

import contextlib
import enum
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from urllib.parse import unquote_to_bytes

from ._formats import parse_confirmation_date
from ._key import MerchantKey
from ._money import Money, parse_wire_amount
from ._seal import (
    LEGACY_CONFIRMATION_ORDER,
    MAC_FIELD,
    PROTOCOL_VERSION,
    Variant,
    check,
    received_dsp2_string,
    sealed_string,
)
from .exceptions import FieldError, MalformedMessageError, MissingFieldError

MAX_BODY_BYTES = 64 * 1024
_NAME = re.compile(rb"[A-Za-z0-9_.\-]{1,64}")
_NAMES = re.compile(rb"[A-Za-z0-9_.\-]{1,64}(?:&[A-Za-z0-9_.\-]{1,64})*")  # names joined by "&"
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_CVX = {"oui": True, "non": False}
# Fields of the payment request that no confirmation holds. The same key seals both: a "confirmation" made of a
# request's fields is a payment form posted back, never the bank's word.
REQUEST_ONLY_FIELDS = frozenset(
    {"mail", "societe", "lgue", "url_retour", "url_retour_ok", "url_retour_err", "contexte_commande", "nbrech"}
)
_CARD_SAVED = {"1": True, "0": False}


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
        """Letter case aside (``Annulation`` and ``annulation`` both appear): the seal, checked before, covers
        the exact bytes; only the reading ignores case, and only in ASCII."""
        try:
            return _RETURN_CODES[text.lower() if text.isascii() else text]
        except (KeyError, TypeError, AttributeError):
            raise FieldError("code-retour", f"{text!r} is not a return code the bank sends") from None

    def __str__(self) -> str:
        return self.outcome.value + (f"_pf{self.instalment}" if self.instalment else "")


# Every code the bank sends, by its lower-case spelling: paiement, payetest, Annulation, each also with _pf2,
# _pf3 or _pf4.
_RETURN_CODES = {
    str(code).lower(): code
    for code in (ReturnCode(outcome, instalment) for outcome in Outcome for instalment in (None, 2, 3, 4))
}


@dataclass(frozen=True)
class ReceivedForm:
    """A form-urlencoded body, decoded to exact bytes, in the order received."""

    fields: tuple[tuple[str, bytes], ...]

    @cached_property
    def _by_name(self) -> dict[str, bytes]:
        by_name = dict(self.fields)
        if len(by_name) != len(self.fields):  # only a hand-built form repeats a name: the first one counts
            by_name = dict(reversed(self.fields))
        return by_name

    def get(self, name: str) -> bytes | None:
        return self._by_name.get(name)

    def text(self, name: str) -> str | None:
        value = self._by_name.get(name)
        return None if value is None else _text(value)

    def require(self, name: str) -> str:
        value = self._by_name.get(name)
        if value is None:
            raise MissingFieldError(name)
        return _text(value)

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
    if len(body) > max_bytes:
        raise MalformedMessageError(f"the body is {len(body)} bytes, more than {max_bytes}")
    if not body.strip():
        raise MalformedMessageError("the body is empty")
    raw = bytes(body).replace(b"+", b" ")
    return ReceivedForm(_fields_at_once(raw) or _fields_one_by_one(raw))


def _fields_at_once(raw: bytes) -> tuple[tuple[str, bytes], ...] | None:
    """The fields of an ordinary body in a few passes over all of it, or None when it needs the
    field-by-field reading (an encoded name, an encoded ``&`` in a value, an empty or repeated field...).

    Both readings give the same fields: the property tests hold them to it.
    """
    parts = raw.split(b"&")
    try:
        by_name = dict([part.split(b"=", 1) for part in parts])
    except ValueError:  # a part without "=": let the careful reading name it
        return None
    names = b"&".join(by_name)
    if len(by_name) != len(parts) or not _NAMES.fullmatch(names):  # a repeated, empty or encoded name
        return None
    values: list[bytes] = list(by_name.values())
    if b"%" in raw:
        # Percent-decode all the values in one call; an encoded "&" would show as one value too many.
        decoded = unquote_to_bytes(b"&".join(values)).split(b"&")
        if len(decoded) != len(values):
            return None
        values = decoded
    return tuple(zip(names.decode("ascii").split("&"), values, strict=True))


def _fields_one_by_one(raw: bytes) -> tuple[tuple[str, bytes], ...]:
    fields: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for part in raw.split(b"&"):
        if not part:
            continue
        raw_name, sep, raw_value = part.partition(b"=")
        if not sep:
            raise MalformedMessageError(f"a field has no '=': {part[:40]!r}")
        name_bytes = unquote_to_bytes(raw_name)
        if not _NAME.fullmatch(name_bytes):
            raise MalformedMessageError(f"{name_bytes[:40]!r} is not a field name")
        name = name_bytes.decode("ascii")
        if name in seen:
            raise MalformedMessageError(f"the field {name} appears twice")
        seen.add(name)
        fields.append((name, unquote_to_bytes(raw_value)))
    if not fields:
        raise MalformedMessageError("the body holds no field")
    return tuple(fields)


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
    # ``cbenregistree``: whether the bank kept the card under the request's alias (``None``: not said, or
    # not covered by the seal, as on legacy terminals).
    card_saved: bool | None = None

    @property
    def accepted(self) -> bool:
        return self.return_code.outcome.accepted

    @property
    def is_test_payment(self) -> bool:
        return self.return_code.outcome is Outcome.ACCEPTED_TEST

    def field(self, name: str) -> str | None:
        return dict(self.fields).get(name)


def _decoded(form: ReceivedForm) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """The fields as text, in order and by name."""
    by_name = form._by_name
    if len(by_name) == len(form.fields):
        try:  # the usual case, all UTF-8 (most often ASCII), in bulk
            texts = dict(zip(by_name, map(bytes.decode, by_name.values()), strict=True))
            return tuple(texts.items()), texts
        except UnicodeDecodeError:
            pass
    fields = tuple((name, _text(value)) for name, value in form.fields)
    return fields, dict(reversed(fields))


def _required(texts: dict[str, str], name: str) -> str:
    try:
        return texts[name]
    except KeyError:
        raise MissingFieldError(name) from None


def _optional_int(texts: dict[str, str], name: str) -> int | None:
    text = texts.get(name, "")
    if not text:
        return None
    if not _INTEGER.fullmatch(text):  # int() would also take " 1", "1_0" and non-ASCII digits
        raise FieldError(name, f"{text[:20]!r} is not a number")
    return int(text)


def read_confirmation(form: ReceivedForm) -> Confirmation:
    """The typed view of a (verified) confirmation; a malformed value raises ``FieldError`` naming it."""
    fields, texts = _decoded(form)
    instalment = texts.get("montantech", "")
    paid_at = texts.get("date", "")
    return Confirmation(
        tpe=_required(texts, "TPE"),
        reference=_required(texts, "reference"),
        return_code=ReturnCode.parse(_required(texts, "code-retour")),
        amount=parse_wire_amount(_required(texts, "montant"), "montant"),
        paid_at=parse_confirmation_date(paid_at) if paid_at else None,
        authorisation_number=texts.get("numauto", ""),
        card_brand=texts.get("brand", ""),
        three_ds_status=_optional_int(texts, "status3ds"),
        refusal_reason=texts.get("motifrefus", ""),
        authorisation_refusal_reason=texts.get("motifrefusautorisation", ""),
        instalment_amount=parse_wire_amount(instalment, "montantech") if instalment else None,
        card_expiry=texts.get("vld", ""),
        cvx_entered=_CVX.get(texts.get("cvx", "")),
        free_text=texts.get("texte-libre", ""),
        fields=fields,
        card_saved=_CARD_SAVED.get(texts.get("cbenregistree", "")),
    )


def check_not_a_request(form: ReceivedForm) -> ReceivedForm:
    """``MalformedMessageError`` when ``form`` holds a field only a payment request has: the merchant's key seals
    the requests too, so a sealed request posted back (or split differently) is never taken for the bank's word."""
    request_fields = REQUEST_ONLY_FIELDS.intersection(form._by_name)
    if request_fields:
        raise MalformedMessageError(f"{min(request_fields)} is a field of a payment request, not of a confirmation")
    return form


def verify_confirmation(
    form: ReceivedForm,
    key: MerchantKey,
    variant: Variant = Variant.DSP2,
    *,
    tpe: str | None = None,
    version: str = PROTOCOL_VERSION,
) -> ReceivedForm:
    """Check the seal over exactly the fields received; ``SealMismatchError`` when it does not hold.

    Returns the fields the seal covers, and only those: every field in DSP2; in legacy 3.0 the fixed order's
    fields, with ``TPE`` and ``version`` as the merchant's configuration sealed them. A field the bank added
    outside the legacy order (``motifrefusautorisation``, ``montantech``...) is not covered, so it is dropped
    rather than trusted.
    """
    mac = form.mac
    if variant is Variant.DSP2 and len(form._by_name) == len(form.fields):
        with contextlib.suppress(UnicodeEncodeError):  # a hand-built form's bad name: sealed_string names it
            check(key, received_dsp2_string(form._by_name), mac)
            return form
    check(key, sealed_string(form.fields, variant, tpe=tpe, version=version), mac)
    if variant is not Variant.LEGACY_CONFIRMATION:
        return form
    assert tpe is not None  # sealed_string refuses a legacy confirmation without it
    sealed = {"TPE": tpe.encode(), "version": version.encode()}
    by_name = form._by_name
    covered = [(name, sealed.get(name, by_name.get(name))) for name in LEGACY_CONFIRMATION_ORDER]
    kept = [(name, value) for name, value in covered if value is not None]
    return ReceivedForm((*kept, (MAC_FIELD, by_name[MAC_FIELD])))
