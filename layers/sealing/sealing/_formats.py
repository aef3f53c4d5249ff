"""Wire formats of dates, references, languages and free text (docs/protocol.md, Payment request)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .exceptions import FieldError

LANGUAGES: tuple[str, ...] = ("FR", "EN", "DE", "IT", "ES", "NL", "PT", "SV", "JA")
MAX_FREE_TEXT = 3200
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,12}")
_TPE = re.compile(r"[A-Za-z0-9]{1,12}")
# An e-mail address as Amazon SES reads one, and the bank's ``mail`` field takes: the bare address (no display
# name, no <>, no comment), 7-bit ASCII (SES does not take SMTPUTF8: an internationalised domain is written in
# Punycode, ``xn--``), a dot-atom local part of at most 64 characters (RFC 5321), a domain of letter-digit-hyphen
# labels of at most 63 with an alphabetic (or Punycode) top level, and 254 characters in all (RFC 5321's path,
# the most the bank's ``mail`` field and a mail's To: carry). SES refuses the rest at send time, too late.
MAX_EMAIL = 254
MAX_EMAIL_LOCAL_PART = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})")
_NOT_BARE = re.compile(r"[\s<>\"()]")
# The bank's dates: a request's and a back-office message's ``date`` (dd/mm/yyyy:hh:mm:ss), a day (dd/mm/yyyy:
# ``date_commande``, ``dateech1``...), a confirmation's ``date`` (dd/mm/yyyy_a_hh:mm:ss). The patterns check the
# shape only; whether it is a real date is the parser's to say.
ORDER_DATE_FORMAT = "%d/%m/%Y:%H:%M:%S"
ORDER_DATE_PATTERN = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}")
DAY_FORMAT = "%d/%m/%Y"
DAY_PATTERN = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")
CONFIRMATION_DATE_FORMAT = "%d/%m/%Y_a_%H:%M:%S"
_CONFIRMATION_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})_a_([0-9]{2}):([0-9]{2}):([0-9]{2})")


def check_reference(reference: str, field: str = "reference") -> str:
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise FieldError(field, f"{reference!r} must be 1 to 12 letters or digits")
    return reference


def check_tpe(tpe: str, field: str = "TPE") -> str:
    if not isinstance(tpe, str) or not _TPE.fullmatch(tpe):
        raise FieldError(field, f"{tpe!r} is not a terminal number")
    return tpe


def check_language(language: str, allowed: tuple[str, ...] = LANGUAGES, field: str = "language") -> str:
    if language not in allowed:
        raise FieldError(field, f"{language!r} is not one of {', '.join(allowed)}")
    return language


# The sealed strings join fields with "*": a value holding one could be read as other fields under the same seal
# (a buyer's e-mail made into "x*code-retour=paiement*..." would seal a confirmation). No value sent has one.
SEAL_SEPARATOR = "*"


def check_sealable(value: str, field: str) -> str:
    if SEAL_SEPARATOR in value:
        raise FieldError(field, f"must not contain {SEAL_SEPARATOR!r}: the bank's seal separates fields with it")
    return value


def check_email(email: str, field: str = "email") -> str:
    """One address as SES reads it (see ``_EMAIL``); an error says which rule it breaks."""
    if not isinstance(email, str):
        raise FieldError(field, "must be an e-mail address like buyer@example.com")
    shown_email = repr(email[:MAX_EMAIL]) + ("..." if len(email) > MAX_EMAIL else "")
    if len(email) > MAX_EMAIL:
        raise FieldError(field, f"is {len(email)} characters long, at most {MAX_EMAIL}")
    if not email.isascii():
        raise FieldError(field, f"{shown_email} must be ASCII (SES does not take SMTPUTF8; a domain in Punycode, xn--)")
    if _NOT_BARE.search(email):
        raise FieldError(
            field, f"{shown_email} must be the address alone, like buyer@example.com: no name, no <>, no spaces"
        )
    local, at, _ = email.rpartition("@")
    if at and len(local) > MAX_EMAIL_LOCAL_PART:
        raise FieldError(field, f"has {len(local)} characters before the @, at most {MAX_EMAIL_LOCAL_PART}")
    check_sealable(email, field)
    if not _EMAIL.fullmatch(email):
        raise FieldError(field, f"{shown_email} is not an e-mail address like buyer@example.com")
    return email


def check_free_text(text: str, field: str = "free_text") -> str:
    """Free text must be printable ASCII (accents break seals) and at most 3200 characters."""
    if not isinstance(text, str):
        raise FieldError(field, "must be text")
    if len(text) > MAX_FREE_TEXT:
        raise FieldError(field, f"is {len(text)} characters long, the bank accepts at most {MAX_FREE_TEXT}")
    if any(not (32 <= ord(c) < 127) for c in text):
        raise FieldError(
            field, "must be printable ASCII: encode structured or accented text with sealing.encode_free_text"
        )
    return check_sealable(text, field)


def encode_free_text(data: Any) -> str:
    """Any JSON value as ASCII-safe free text (base64url of compact UTF-8 JSON, no padding)."""
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return check_free_text(text)


def decode_free_text(text: str) -> Any:
    """The inverse of ``encode_free_text``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise FieldError("texte-libre", "is not free text made by encode_free_text") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FieldError("timezone", f"{name!r} is not a known time zone") from exc


def local_time(moment: datetime, timezone: str) -> datetime:
    """``moment`` in the terminal's time zone; a naive datetime is taken as already local."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone(timezone))


def format_order_date(moment: datetime) -> str:
    """``dd/mm/yyyy:hh:mm:ss``: 4-digit year, as the bank requires."""
    return moment.strftime(ORDER_DATE_FORMAT) if moment.year >= 1000 else _too_early("date", moment)


def format_day(day: date) -> str:
    """``dd/mm/yyyy``."""
    return day.strftime(DAY_FORMAT) if day.year >= 1000 else _too_early("date", day)


def _too_early(field: str, value: date) -> str:
    raise FieldError(field, f"{value.isoformat()} is not a date the bank accepts")


def parse_confirmation_date(text: str, field: str = "date") -> datetime:
    """The confirmation's ``dd/mm/yyyy_a_hh:mm:ss`` as a naive local datetime."""
    match = _CONFIRMATION_DATE.fullmatch(text)
    if not match:
        raise FieldError(field, f"{text!r} is not a date like 05/12/2006_a_11:55:23")
    day, month, year, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise FieldError(field, f"{text!r} is not a real date") from None
