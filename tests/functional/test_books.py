"""The console's books: payments by capture date, refunds by date, and the daily export of captures (CSV, and the
bank's XML shape, which the reconciliation reads back)."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orders import daybook as ledger
from orders.exceptions import BooksTooLargeError
from sealing import Money, PaymentState, read_captures_xml
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import call, confirm, registered, stored_order

TODAY = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date().isoformat()


def raw(aws: Any, lambda_context: Any, resource: str, **query: str) -> dict[str, Any]:
    request = {"httpMethod": "GET", "resource": resource, "path": resource, "queryStringParameters": query or None}
    request.update(headers={}, pathParameters=None, body=None, isBase64Encoded=False)
    return aws.invoke("backoffice", request, lambda_context)  # type: ignore[no-any-return]


@pytest.fixture
def books(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    stored_order(aws, "EVBK1")
    confirm(aws, lambda_context, reference="EVBK100")  # an immediate payment: captured as it is paid
    registered(aws, lambda_context, "EVBK2")  # a deferred authorisation, captured in part below
    call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVBK2", {"amount": "10.00"})
    bank.accounts["EVBK100"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))  # the bank's side of it
    assert call(aws, lambda_context, "POST", "/orders/{reference}/refund", "EVBK1", {"amount": "5.00"})[0] == 200
    stored_order(aws, "EVBK3")  # never paid: in no list


def test_payments_by_capture_date_and_refunds_by_date(aws: Any, lambda_context: Any, books: None) -> None:
    status, captures = call(aws, lambda_context, "GET", "/books/captures", day=TODAY)
    assert status == 200
    assert [(c["reference"], c["kind"], c["amount"], c["day"]) for c in captures["captures"]] == [
        ("EVBK1", "payment", "62.73", TODAY),
        ("EVBK2", "capture_partial", "10.00", TODAY),
    ]
    assert captures["captures"][0]["bank_reference"] == "EVBK100"
    status, refunds = call(aws, lambda_context, "GET", "/books/refunds", day=TODAY)
    assert [(r["reference"], r["kind"], r["amount"]) for r in refunds["refunds"]] == [
        ("EVBK1", "refund_partial", "5.00")
    ]
    status, other_day = call(aws, lambda_context, "GET", "/books/captures", day="2026-01-01")
    assert other_day["captures"] == []


def test_the_daily_export_as_csv_and_as_the_bank_xml(aws: Any, lambda_context: Any, books: None) -> None:
    answer = raw(aws, lambda_context, "/books/captures", day=TODAY, format="csv")
    assert answer["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(answer["body"])))
    assert [(r["reference"], r["amount"], r["currency"]) for r in rows] == [
        ("EVBK1", "62.73", "EUR"),
        ("EVBK2", "10.00", "EUR"),
    ]
    xml = raw(aws, lambda_context, "/books/captures", day=TODAY, format="xml", tpe="0900157")
    assert xml["headers"]["Content-Disposition"] == f"attachment; filename=recouvrements-0900157-{TODAY}.xml"
    read = read_captures_xml(xml["body"])
    assert (read.tpe, read.day and read.day.isoformat()) == ("0900157", TODAY)
    assert [(p.reference, p.state, p.amount, p.collected) for p in read.payments] == [
        ("EVBK100", PaymentState.PAID, Money(Decimal("62.73"), "EUR"), True)
    ]
    assert "<numauto>123456</numauto>" in xml["body"]


@pytest.mark.parametrize(
    ("resource", "query", "field"),
    [
        ("/books/captures", {"day": "27/11/2026"}, "day"),
        ("/books/captures", {"format": "pdf"}, "format"),
        ("/books/refunds", {"format": "xml"}, "format"),
        ("/books/captures", {"tpe": "9999999"}, "tpe"),
        ("/books/captures", {"from": "2026-11-01"}, "from"),
        ("/books/captures", {"cursor": "not-a-cursor"}, "cursor"),
        (
            "/books/captures",
            {"cursor": "eyJkYXkiOiIyMDI2LTExLTI3Iiwia2luZCI6ImNhcHR1cmVzIiwic291cmNlIjo5OTksImtleSI6bnVsbH0"},
            "cursor",
        ),
        ("/books/captures", {"format": "csv", "cursor": "x"}, "cursor"),
    ],
)
def test_bad_queries_name_their_field(
    aws: Any, lambda_context: Any, resource: str, query: dict[str, str], field: str
) -> None:
    status, body = call(aws, lambda_context, "GET", resource, **query)
    assert status == 400
    assert body["error"]["field"] == field


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_the_books_come_page_by_page_each_reading_a_bounded_number_of_orders(
    aws: Any, lambda_context: Any, books: None
) -> None:
    for number in range(5):  # paid today too: more orders of the day than a page reads
        stored_order(aws, f"EVBKP{number}")
        confirm(aws, lambda_context, reference=f"EVBKP{number}00")
    day = date.fromisoformat(TODAY)
    terminals = aws.deps.terminals()
    read: list[int] = []
    aws.dynamodb.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: read.append(int(parsed.get("ScannedCount", 0)))
    )
    entries, cursor, pages = [], None, 0
    while True:
        read.clear()
        page = ledger.booked_page(aws.store, terminals, day, "captures", cursor, reads=3)
        assert sum(read) <= 3, "a page reads at most its bound"
        entries += page.entries
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert pages >= 3
    whole = ledger.booked(aws.store, terminals, day, "captures")
    assert sorted(e.reference for e in entries) == sorted(e.reference for e in whole)
    assert len(whole) == 7


def test_the_json_books_answer_the_next_cursor_and_refuse_one_of_other_books(
    aws: Any, lambda_context: Any, books: None
) -> None:
    status, first = call(aws, lambda_context, "GET", "/books/captures", day=TODAY)
    assert (status, first["next"]) == (200, None), "a few orders: one page"
    page = ledger.booked_page(aws.store, aws.deps.terminals(), date.fromisoformat(TODAY), "refunds", reads=1)
    assert page.cursor is not None
    assert call(aws, lambda_context, "GET", "/books/refunds", day=TODAY, cursor=page.cursor)[0] == 200
    for resource, day in (("/books/captures", TODAY), ("/books/refunds", "2026-01-02")):
        status, refused = call(aws, lambda_context, "GET", resource, day=day, cursor=page.cursor)
        assert (status, refused["error"]["field"]) == (400, "cursor")
    forged = _cursor({"day": TODAY, "kind": "refunds", "source": 0, "key": {"pk": {"S": "X"}}})
    status, refused = call(aws, lambda_context, "GET", "/books/refunds", day=TODAY, cursor=forged)
    assert (status, refused["error"]["field"]) == (400, "cursor")


def test_an_export_is_the_whole_day_or_is_refused_naming_format(aws: Any, lambda_context: Any, books: None) -> None:
    day = date.fromisoformat(TODAY)
    whole = ledger.booked_pages(aws.store, aws.deps.terminals(), day, "captures", most_reads=10_000, reads=2)
    assert [e.reference for e in whole] == [
        e.reference for e in ledger.booked(aws.store, aws.deps.terminals(), day, "captures")
    ]
    with pytest.raises(BooksTooLargeError) as refused:
        ledger.booked_pages(aws.store, aws.deps.terminals(), day, "captures", most_reads=2, reads=1)
    assert refused.value.field == "format"


def test_the_books_are_one_use_case_the_api_answers_with(aws: Any, lambda_context: Any, books: None) -> None:
    """``orders.books`` answers the API's books: the console's books page and download call the same code."""
    from orders.books import Books

    books_of = Books(aws.store, aws.deps.terminals)
    now = datetime.now(UTC)
    asked = books_of.query({"day": TODAY, "format": "csv", "tpe": "0900157"}, now, "captures")
    export = books_of.export(asked)
    answer = raw(aws, lambda_context, "/books/captures", day=TODAY, format="csv", tpe="0900157")
    assert answer["body"] == export.text
    assert answer["headers"]["Content-Disposition"] == f"attachment; filename={export.filename}"
    status, body = call(aws, lambda_context, "GET", "/books/refunds", day=TODAY)
    assert status == 200
    assert body == books_of.page(books_of.query({"day": TODAY}, now, "refunds"))
    yesterday = books_of.query({}, now, "refunds", days_back=1)
    assert yesterday.day == date.fromisoformat(TODAY) - timedelta(days=1)
