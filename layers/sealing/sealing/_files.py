"""The bank's files of payments (docs/protocol.md, The bank's files): the daily XML file of captured payments
(``<recouvrements>``) and the CSV export of payments, each read strictly into the same ``BankFile``.

A file the bank could not have written is a ``BankFileError`` naming where it is wrong: ``line 3 column 7
(montant)`` in the CSV, ``paiement[2].montant_recouvre`` or ``line 4 column 12`` in the XML, ``body`` for the file
as a whole. Nothing is guessed: an amount with a comma, a header line, a 20th or 22nd column are errors.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from ._backoffice import PaymentState
from ._formats import DAY_FORMAT, DAY_PATTERN, check_tpe
from ._money import Money, parse_decimal, parse_wire_amount
from .exceptions import FieldError

XML = "xml"
CSV = "csv"
# The CSV export's columns, in order (no header line in the file).
CSV_COLUMNS = (
    "date_recouvrement", "TPE", "reference", "etat", "date_demande", "heure_demande", "montant", "devise",
    "numauto", "code_retour", "reference_archivage", "type_carte", "validite_carte", "cvx", "texte-libre",
    "niveau_3dsecure", "carte_masquee", "pays_carte", "alias_carte", "ip_client", "pays_transaction",
)  # fmt: skip
# A reference in the bank's files: the kit's are 12 characters at most, the bank takes up to 50 (Monetico).
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,50}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_BOM = b"\xef\xbb\xbf"


class BankFileError(FieldError):
    """A file that is not one the bank writes; ``field`` says where (a line and column, an element, ``body``)."""


@dataclass(frozen=True)
class FilePayment:
    """One payment as a bank's file lists it.

    ``amount`` is what the line says (the XML's ``montant_recouvre``, the CSV's ``montant`` and ``devise``);
    ``collected_on`` the day the bank collected it (the XML file's own ``date``, the CSV's ``date_recouvrement``),
    ``None`` when the file does not say. ``where`` names the line or element, for messages.
    """

    tpe: str
    reference: str
    state: PaymentState
    amount: Money
    collected_on: date | None
    authorisation_number: str
    where: str
    collected: bool  # the bank collected ``amount``: every line of the XML file, a CSV line PA with its day


@dataclass(frozen=True)
class BankFile:
    """A bank's file: its format (``xml`` or ``csv``), its payments, and the terminal and day it is of when it
    says so (the XML file's ``tpe`` and ``date``: a day's file lists every capture of that day)."""

    format: str
    payments: tuple[FilePayment, ...]
    tpe: str | None = None
    day: date | None = None


def bank_file_format(data: bytes) -> str:
    """``xml`` or ``csv``, told by the content: XML starts with ``<``; the CSV export's first line has the
    export's 20 semicolons. Anything else is a ``BankFileError`` on ``body``."""
    start = data.removeprefix(_BOM).lstrip()
    if start.startswith(b"<"):
        return XML
    first_line = start.split(b"\n", 1)[0]
    if first_line.count(b";") >= len(CSV_COLUMNS) - 1:
        return CSV
    shown = "is empty" if not start else "starts with " + repr(start[:20].decode("latin-1"))
    raise BankFileError(
        "body",
        f"neither the bank's XML file of captured payments (<recouvrements>) nor its CSV export of payments "
        f"({len(CSV_COLUMNS)} columns separated by ';'): the file {shown}",
    )


def read_bank_file(data: bytes) -> BankFile:
    """The bank's XML file of captured payments or its CSV export of payments, whichever ``data`` is."""
    return read_captures_xml(data) if bank_file_format(data) == XML else read_payments_csv(data)


# --- the daily XML file of captured payments ---------------------------------------------------------------


def read_captures_xml(data: bytes | str) -> BankFile:
    """``<recouvrements tpe=... societe=... date="dd/mm/yyyy"><paiement><reference/>...<montant_recouvre/>``:
    every ``paiement`` collected (``etat`` PA) on the file's ``date``. The XML declaration's encoding is honoured
    (UTF-8 when none); DTDs and entities are refused."""
    return _strictly(_read_xml, data)


def _read_xml(data: bytes | str) -> BankFile:
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise BankFileError("body", "the XML declares a DTD or entities, which the bank's file never does")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - DTDs and entities are refused above
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise BankFileError(
            f"line {line} column {column + 1}", f"not well-formed XML ({exc.msg.split(':')[0]})"
        ) from None
    if root.tag != "recouvrements":
        raise BankFileError("body", f"the root element is <{root.tag}>, the bank's file has <recouvrements>")
    tpe = root.get("tpe")
    if tpe is not None:
        check_tpe(tpe, "recouvrements.tpe")
    day = _day(root.get("date"), "recouvrements.date", required=False)
    payments = []
    for number, item in enumerate(root.iter("paiement"), 1):
        where = f"paiement[{number}]"
        reference = (item.findtext("reference") or "").strip()
        if not reference:
            raise BankFileError(f"{where}.reference", "is missing")
        _reference(reference, f"{where}.reference")
        amount = parse_wire_amount((item.findtext("montant_recouvre") or "").strip(), f"{where}.montant_recouvre")
        number_text = (item.findtext("numauto") or "").strip()
        payments.append(
            FilePayment(tpe or "", reference, PaymentState.PAID, amount, day, number_text, where, collected=True)
        )
    return BankFile(XML, tuple(payments), tpe, day)


# --- the CSV export of payments ----------------------------------------------------------------------------


def decode_export(data: bytes) -> str:
    """The export's text: UTF-8 (a byte-order mark dropped), else Latin-1, as the bank's back office writes it."""
    data = data.removeprefix(_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_payments_csv(data: bytes | str) -> BankFile:
    """The bank's CSV export of payments: no header, one payment a line, the ``CSV_COLUMNS`` separated by ``;``
    (a value holding ``;`` between double quotes). ``montant`` is written with a dot (``62.73``), its currency in
    ``devise``; the days ``dd/mm/yyyy``, ``heure_demande`` ``hh:mm:ss``; ``date_recouvrement`` is empty for a
    payment not collected. Blank lines are skipped."""
    return _strictly(_read_csv, data)


def _read_csv(data: bytes | str) -> BankFile:
    text = decode_export(data) if isinstance(data, bytes) else data
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"', strict=True)
    payments = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            payments.append(_csv_payment(row, reader.line_num))
    except csv.Error as exc:
        raise BankFileError(f"line {reader.line_num}", f"not a line of the bank's export ({exc})") from None
    if not payments:
        raise BankFileError("body", "the export lists no payment")
    return BankFile(CSV, tuple(payments))


def _csv_payment(row: list[str], line: int) -> FilePayment:
    if row[:1] == [CSV_COLUMNS[0]]:
        raise BankFileError(f"line {line}", "is a header line: the bank's export has none")
    if len(row) != len(CSV_COLUMNS):
        raise BankFileError(f"line {line}", f"has {len(row)} columns, the bank's export has {len(CSV_COLUMNS)}")
    cells = dict(zip(CSV_COLUMNS, row, strict=True))

    def where(name: str) -> str:
        return f"line {line} column {CSV_COLUMNS.index(name) + 1} ({name})"

    tpe = check_tpe(cells["TPE"], where("TPE"))
    reference = _reference(cells["reference"], where("reference"))
    try:
        state = PaymentState(cells["etat"])
    except ValueError:
        known = ", ".join(s.value for s in PaymentState)
        raise BankFileError(where("etat"), f"{cells['etat']!r} is not one of {known}") from None
    _day(cells["date_demande"], where("date_demande"), required=True)
    if not _TIME.fullmatch(cells["heure_demande"]):
        raise BankFileError(where("heure_demande"), f"{cells['heure_demande']!r} is not a time like 10:15:00")
    amount = parse_decimal(cells["montant"], where("montant"))
    try:
        money = Money(amount, cells["devise"])
    except FieldError:
        raise BankFileError(where("devise"), f"{cells['devise']!r} is not an ISO 4217 code like EUR") from None
    collected_on = _day(cells["date_recouvrement"], where("date_recouvrement"), required=False)
    collected = state is PaymentState.PAID and collected_on is not None
    return FilePayment(tpe, reference, state, money, collected_on, cells["numauto"], f"line {line}", collected)


def _strictly(read: Callable[[bytes | str], BankFile], data: bytes | str) -> BankFile:
    """``read(data)``, any value it refuses reported as the file's error, at the place it names."""
    try:
        return read(data)
    except BankFileError:
        raise
    except FieldError as exc:
        raise BankFileError(exc.field, exc.reason) from None


def _reference(text: str, field: str) -> str:
    if not _REFERENCE.fullmatch(text):
        raise BankFileError(field, f"{text[:60]!r} is not a reference (1 to 50 letters or digits)")
    return text


def _day(text: str | None, field: str, *, required: bool) -> date | None:
    if not text:
        if required:
            raise BankFileError(field, "is missing (a day like 27/11/2026)")
        return None
    try:
        if not DAY_PATTERN.fullmatch(text):
            raise ValueError(text)
        return datetime.strptime(text, DAY_FORMAT).date()
    except ValueError:
        raise BankFileError(field, f"{text!r} is not a day like 27/11/2026") from None
