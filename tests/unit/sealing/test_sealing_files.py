"""The bank's files read strictly: the CSV export of payments (21 columns, no header, UTF-8 or Latin-1) and the
daily XML of captured payments, each told by its content; anything else names its line and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sealing import (
    CSV_COLUMNS,
    BankFileError,
    Money,
    PaymentState,
    bank_file_format,
    read_bank_file,
    read_payments_csv,
)


def line(**cells: str) -> str:
    """A line of the export: a paid, collected payment, with ``cells`` changed."""
    values = {
        "date_recouvrement": "27/11/2026", "TPE": "0900157", "reference": "EVTSAMPLE000", "etat": "PA",
        "date_demande": "27/11/2026", "heure_demande": "10:15:00", "montant": "62.73", "devise": "EUR",
        "numauto": "123456", "code_retour": "payetest", "reference_archivage": "A1B2C3D4E5F6", "type_carte": "VI",
        "validite_carte": "1228", "cvx": "oui", "texte-libre": "panier 42", "niveau_3dsecure": "1",
        "carte_masquee": "411111******1111", "pays_carte": "FRA", "alias_carte": "", "ip_client": "203.0.113.9",
        "pays_transaction": "FRA",
    }  # fmt: skip
    values.update(cells)
    return ";".join(values[name] for name in CSV_COLUMNS)


def test_a_paid_line_and_a_cancelled_one() -> None:
    text = line() + "\r\n" + line(date_recouvrement="", reference="EVTOTHER0000", etat="AN", montant="10.00") + "\r\n"
    read = read_payments_csv(text.encode())
    assert read.format == "csv"
    paid, cancelled = read.payments
    assert (paid.tpe, paid.reference, paid.state, paid.amount) == (
        "0900157", "EVTSAMPLE000", PaymentState.PAID, Money(Decimal("62.73"), "EUR")
    )  # fmt: skip
    assert (paid.collected_on, paid.collected, paid.authorisation_number) == (date(2026, 11, 27), True, "123456")
    assert (cancelled.state, cancelled.collected_on, cancelled.collected) == (PaymentState.CANCELLED, None, False)
    assert cancelled.where == "line 2"


def test_a_paid_line_without_a_collection_day_is_an_authorisation_not_collected() -> None:
    (authorised,) = read_payments_csv(line(date_recouvrement="").encode()).payments
    assert (authorised.state, authorised.collected) == (PaymentState.PAID, False)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_utf8_and_latin1_are_read(encoding: str) -> None:
    (payment,) = read_payments_csv(line(**{"texte-libre": "Café crème"}).encode(encoding)).payments
    assert payment.reference == "EVTSAMPLE000"


def test_a_value_holding_a_semicolon_is_quoted_and_blank_lines_are_skipped() -> None:
    text = "\n" + line(**{"texte-libre": '"a;b"'}) + "\n\n"
    (payment,) = read_payments_csv(text.encode()).payments
    assert payment.where == "line 2"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (line() + ";", "line 1", "has 22 columns, the bank's export has 21"),
        (";".join(CSV_COLUMNS), "line 1", "is a header line: the bank's export has none"),
        (line() + "\n" + line(montant="62,73"), "line 2 column 7 (montant)", "is not an amount like 62.73"),
        (line(montant="1 234.50"), "line 1 column 7 (montant)", "is not an amount"),
        (line(devise="eur"), "line 1 column 8 (devise)", "is not an ISO 4217 code"),
        (line(etat="XX"), "line 1 column 4 (etat)", "is not one of PA, AN, RE, GR, AP"),
        (line(date_recouvrement="2026-11-27"), "line 1 column 1 (date_recouvrement)", "is not a day like"),
        (line(date_demande=""), "line 1 column 5 (date_demande)", "is missing"),
        (line(date_demande="31/02/2026"), "line 1 column 5 (date_demande)", "is not a day like"),
        (line(heure_demande="25:00:00"), "line 1 column 6 (heure_demande)", "is not a time like"),
        (line(TPE=""), "line 1 column 2 (TPE)", "is not a terminal number"),
        (line(reference="EVT-1"), "line 1 column 3 (reference)", "is not a reference"),
        (line(**{"texte-libre": '"unclosed'}), "line 1", "not a line of the bank's export"),
        ("\n\n", "body", "lists no payment"),
    ],
)
def test_a_line_the_bank_would_not_write_names_its_line_and_column(text: str, field: str, message: str) -> None:
    with pytest.raises(BankFileError, match=message) as refused:
        read_payments_csv(text.encode())
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'<?xml version="1.0"?><recouvrements/>', "xml"),
        (b"\xef\xbb\xbf  \n<recouvrements/>", "xml"),
        (line().encode(), "csv"),
    ],
)
def test_the_format_is_told_by_the_content(data: bytes, kind: str) -> None:
    assert bank_file_format(data) == kind


@pytest.mark.parametrize("data", [b"", b"date;montant\n27/11/2026;62.73\n", b"%PDF-1.4", b'{"captures": []}'])
def test_a_file_that_is_neither_is_refused_as_a_whole(data: bytes) -> None:
    with pytest.raises(BankFileError, match="neither the bank's XML file") as refused:
        read_bank_file(data)
    assert refused.value.field == "body"


def test_the_xml_file_of_a_day() -> None:
    xml = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><recouvrements tpe="0900157" date="27/11/2026">'
        b"<paiement><reference>EVTSAMPLE000</reference><montant_recouvre>62.73EUR</montant_recouvre>"
        b"<carte>4111 11XX XXXX 1111</carte><heure>caf\xe9</heure></paiement></recouvrements>"
    )
    read = read_bank_file(xml)
    assert (read.format, read.tpe, read.day) == ("xml", "0900157", date(2026, 11, 27))
    (payment,) = read.payments
    assert (payment.reference, payment.collected_on, payment.collected) == ("EVTSAMPLE000", date(2026, 11, 27), True)
