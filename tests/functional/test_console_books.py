"""The console's books: yesterday's captures and refunds as the API's books hold them, the same CSV, the chart of
the last 30 days counted from the orders, and the reconciliation reports in words, differences first."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from typing import Any

import pytest

from orders.reconciliation import ReportBucket
from tests.support.aws import TEST_KEY
from tests.support.console import Browser, event, text
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import call, confirm, registered, stored_order
from tests.support.reconciliation import Reconciliation, reconciliation_resources

DAY = "2026-11-27"  # the day the orders were paid, captured and refunded (Paris)
THEN = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # the morning after: the console's books default to yesterday


@pytest.fixture
def day_of_books(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    """Two payments captured (one immediate, part of a deferred authorisation), a refund, a refused attempt."""
    aws.use(clock=lambda: THEN)
    stored_order(aws, "EVCB1")
    confirm(aws, lambda_context, reference="EVCB100")
    registered(aws, lambda_context, "EVCB2")
    assert call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVCB2", {"amount": "10.00"})[0] == 200
    bank.accounts["EVCB100"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    assert call(aws, lambda_context, "POST", "/orders/{reference}/refund", "EVCB1", {"amount": "5.00"})[0] == 200
    stored_order(aws, "EVCB3")
    confirm(aws, lambda_context, code="Annulation", numauto="", reason="filtrage", reference="EVCB300")
    aws.use(clock=lambda: NOW)


def page(aws: Any, lambda_context: Any, path: str = "/console/books", role: str = "viewer", **query: str) -> Any:
    browser = Browser(aws.store, role, NOW)
    return aws.invoke("console", browser.get(path, **query), lambda_context)


def section(html: str, name: str) -> str:
    found = re.search(rf'<section aria-labelledby="books-{name}">(.*?)</section>', html, re.S)
    assert found, name
    return found.group(1)


def linked_orders(html: str) -> list[str]:
    return re.findall(r'<a href="/Prod/console/orders/(\w+)">', html)


def test_yesterdays_books_are_the_apis_for_that_day(aws: Any, lambda_context: Any, day_of_books: None) -> None:
    answer = page(aws, lambda_context)
    assert answer["statusCode"] == 200
    html = answer["body"]
    assert f"Books of {DAY}, terminal 0900157" in text(html)
    for kind in ("captures", "refunds"):
        status, api = call(aws, lambda_context, "GET", f"/books/{kind}", day=DAY, tpe="0900157")
        assert status == 200
        assert api[kind], kind
        shown = section(html, kind)
        assert linked_orders(shown) == [entry["reference"] for entry in api[kind]]
        for entry in api[kind]:
            assert f"{entry['amount']} EUR" in text(shown)
            assert entry["bank_reference"] in shown
    assert "Total (1) 62.73 EUR" in text(section(html, "captures"))  # paid at once: captured
    assert "Total (1) 5.00 EUR" in text(section(html, "refunds"))
    authorisations = page(aws, lambda_context, tpe="0900159")["body"]  # the other terminal's: its own books
    status, api = call(aws, lambda_context, "GET", "/books/captures", day=DAY, tpe="0900159")
    assert linked_orders(section(authorisations, "captures")) == [e["reference"] for e in api["captures"]] == ["EVCB2"]
    assert "partial capture 123456 10.00 EUR Total (1) 10.00 EUR" in text(section(authorisations, "captures"))
    assert 'href="/Prod/console/books?day=2026-11-26&amp;tpe=0900157"' in html
    assert 'href="/Prod/console/books?day=2026-11-28&amp;tpe=0900157"' in html
    other = page(aws, lambda_context, day="2026-11-26")
    assert "Nothing was captured on this day." in text(other["body"])


def test_the_csv_download_is_the_apis_export(aws: Any, lambda_context: Any, day_of_books: None) -> None:
    for kind in ("captures", "refunds"):
        console = page(aws, lambda_context, "/console/books.csv", day=DAY, tpe="0900157", kind=kind)
        request = {"httpMethod": "GET", "resource": f"/books/{kind}", "path": f"/books/{kind}"}
        request.update(queryStringParameters={"day": DAY, "format": "csv", "tpe": "0900157"}, headers={})
        request.update(pathParameters=None, body=None, isBase64Encoded=False)
        api = aws.invoke("backoffice", request, lambda_context)
        assert console["statusCode"] == api["statusCode"] == 200
        assert console["body"] == api["body"]
        assert console["body"].count("\r\n") == 2  # the header, and the one entry of each
        for header in ("Content-Type", "Content-Disposition"):
            assert console["headers"][header] == api["headers"][header]
    default = page(aws, lambda_context, "/console/books.csv")  # yesterday's captures of the default terminal
    assert default["headers"]["Content-Disposition"] == f"attachment; filename=captures-{DAY}.csv"


def test_the_chart_counts_what_the_orders_hold(aws: Any, lambda_context: Any, day_of_books: None) -> None:
    html = page(aws, lambda_context)["body"]
    chart = section(html, "chart")
    row = re.search(rf"<tr>\s*<th scope=\"row\"><a [^>]*>{DAY}</a></th>(.*?)</tr>", chart, re.S)
    assert row
    assert text(row.group(1)) == "1 62.73 EUR 1 1 5.00 EUR"  # captures, captured, refusals, refunds, refunded
    reasons = text(re.search(r'<table id="books-reasons">(.*?)</table>', chart, re.S).group(1))  # type: ignore[union-attr]
    assert reasons.endswith("Stopped by your fraud filters 1")
    assert '<svg class="chart" id="chart-counts" role="img"' in chart
    assert f"<title>{DAY}: 1 refused payments</title>" in chart
    assert f"<title>{DAY}: 62.73 EUR captured</title>" in chart
    assert "style=" not in html
    assert "<script" not in html
    quiet = re.search(r"<th scope=\"row\"><a [^>]*>2026-11-20</a></th>(.*?)</tr>", chart, re.S)
    assert quiet
    assert text(quiet.group(1)) == "0 0 0"
    french = page(aws, lambda_context, lang="fr")["body"]
    assert "Arrêté par vos filtres antifraude 1" in text(section(french, "chart"))
    assert "62,73 EUR" in text(section(french, "captures"))


def keep(bucket: ReportBucket, key: str, source: str, started_at: str, differences: list[dict[str, Any]]) -> None:
    repaired = sum(d["repaired"] for d in differences)
    data = {"source": source, "started_at": started_at, "days": ["2026-11-27"], "checked": 3,
            "differences": differences, "repaired": repaired, "failures": {}}  # fmt: skip
    bucket.put_json(key, data)


def test_the_reconciliation_reports_in_words_differences_not_repaired_first(aws: Any, lambda_context: Any) -> None:
    resources: Reconciliation = reconciliation_resources(aws)
    aws.use(clock=lambda: NOW)
    bucket = aws.deps.report_bucket()
    repaired = {"reference": "EVCR1", "kind": "done_at_the_bank", "detail": "recorded a refund of 20.00 EUR",
                "repaired": True}  # fmt: skip
    differs = {"reference": "EVCR2", "kind": "status_differs",
               "detail": "the bank shows 50.00 EUR captured, the books 62.73 EUR", "repaired": False}  # fmt: skip
    keep(bucket, "reconciliation/2026-11-27/053000-schedule-aaaaaa.json", "schedule", "2026-11-27T05:30:00+00:00", [])
    keep(bucket, "reconciliation/2026-11-28/053000-schedule-bbbbbb.json", "schedule", "2026-11-28T05:30:00+00:00",
         [repaired, differs])  # fmt: skip
    html = page(aws, lambda_context)["body"]
    words = unescape(text(section(html, "reconciliation")))
    first, second = words.index("EVCR2"), words.index("EVCR1")
    assert first < second < words.index("The latest reports")
    assert "The bank's status and the books differ · EVCR2 · 2026-11-28 06:30" in words
    assert "What was found: the bank shows 50.00 EUR captured, the books 62.73 EUR Not repaired" in words
    assert "Done in the bank's dashboard, not through the kit" in words
    assert "What was found: recorded a refund of 20.00 EUR Repaired: the books now hold what the bank holds." in words
    assert "2 differences, 1 not repaired" in words
    assert "0 differences, 0 not repaired" in words
    assert resources.keys("reconciliation/") == sorted(resources.keys("reconciliation/"))  # nothing written


def test_without_the_reports_bucket_the_page_says_so(aws: Any, lambda_context: Any) -> None:
    aws.use(clock=lambda: NOW)
    words = text(section(page(aws, lambda_context)["body"], "reconciliation"))
    assert (
        "The reconciliation reports cannot be read: the environment variable RECONCILIATION_BUCKET is not set" in words
    )


def test_what_a_report_or_a_query_holds_is_escaped(aws: Any, lambda_context: Any) -> None:
    reconciliation_resources(aws)
    aws.use(clock=lambda: NOW)
    hostile = "<script>alert(1)</script>"
    keep(aws.deps.report_bucket(), "reconciliation/2026-11-28/060000-imports_x-cccccc.json", f"imports/{hostile}",
         "2026-11-28T06:00:00+00:00",
         [{"reference": "", "kind": "unreadable_file", "detail": hostile, "repaired": False}])  # fmt: skip
    html = page(aws, lambda_context)["body"]
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    answer = page(aws, lambda_context, tpe=hostile)
    assert answer["statusCode"] == 400
    assert hostile not in answer["body"]
    assert "tpe:" in text(answer["body"])


@pytest.mark.parametrize(("query", "field"), [({"day": "27/11/2026"}, "day"), ({"tpe": "9999999"}, "tpe")])
def test_a_bad_query_is_a_400_naming_its_field(
    aws: Any, lambda_context: Any, query: dict[str, str], field: str
) -> None:
    aws.use(clock=lambda: NOW)
    for path in ("/console/books", "/console/books.csv"):
        answer = page(aws, lambda_context, path, **query)
        assert answer["statusCode"] == 400
        assert text(answer["body"]).count(f"{field}:") == 1
    answer = page(aws, lambda_context, "/console/books.csv", kind="payments")
    assert answer["statusCode"] == 400
    assert "kind:" in text(answer["body"])


def test_the_books_need_a_signed_in_user_and_show_no_key(aws: Any, lambda_context: Any, day_of_books: None) -> None:
    signed_out = aws.invoke("console", event("GET", "/console/books.csv"), lambda_context)
    assert signed_out["statusCode"] == 303
    assert "/console/sign-in" in signed_out["headers"]["Location"]
    for role in ("viewer", "operator"):
        for path in ("/console/books", "/console/books.csv"):
            answer = page(aws, lambda_context, path, role)
            assert answer["statusCode"] == 200
            assert TEST_KEY not in answer["body"]
            secret = json.loads(aws.secrets.get_secret_value(SecretId=aws.secret_arn)["SecretString"])
            for terminal in secret["terminals"].values():
                assert terminal["key"] not in answer["body"]
