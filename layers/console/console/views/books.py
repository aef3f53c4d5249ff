"""The books (viewer): a terminal's captures and refunds of a day (yesterday unless asked, in its zone) with their
totals, a chart of the 30 days to it, the CSV download the API gives, and the latest reconciliation reports in
words, differences first. The day's books and the CSV are ``orders.books``, the use case the API's
``GET /books/captures|refunds`` calls.

What a page reads: the day's captures and refunds (``daybook``: the order days of the 62 days before it, each a
``DateIndex`` query, and for captures a year of split payments' months), the chart's 30 days in one pass over the
order days of the 92 days to the day (at most ``CHART_READS`` orders, else the chart is not drawn and says so),
and the reports bucket (a listing per day of the last week, one read per report: at most 17 S3 calls).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders.books import CHART_DAYS, Books, BooksQuery, DayFigures, parse_query, terminal_asked
from orders.calendar import zone
from orders.daybook import Entry
from orders.exceptions import BooksTooLargeError, ConfigurationError, InvalidOrderError, ReportUnavailableError
from orders.reconciliation import KeptReport, latest_reports
from orders.terminals import TerminalConfig

from ..charts import Chart, Group, grouped_bars, horizontal_bars
from ..exceptions import FormError
from ..http import Response
from ..i18n import Translator
from ..routing import Context, Route

DIFFERENCE_KINDS = (
    "missed_confirmation", "done_at_the_bank", "status_differs", "paid_amount_differs", "captured_unknown_order",
    "captured_amount_differs", "unreadable_file", "second_payment",
)  # fmt: skip
REFUSAL_REASONS = ("refus", "interdit", "filtrage", "scoring", "3dsecure", "appel phonie")


def _asked(ctx: Context, kind: str, shape: str = "json") -> BooksQuery:
    """The books the page's query asks for, always of one terminal (the default one unless ``tpe`` names one)."""
    query = {name: ctx.request.query.get(name, "").strip() for name in ("day", "tpe")}
    try:
        terminals = ctx.deps.terminals()
        asked = {"day": query["day"], "tpe": terminal_asked(terminals, query["tpe"]).tpe}
        if shape != "json":
            asked["format"] = shape
        return parse_query(terminals, {k: v for k, v in asked.items() if v}, ctx.now, kind, days_back=1)
    except InvalidOrderError as exc:
        raise FormError(exc.field, exc.reason) from None


def _totals(entries: list[Entry]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for entry in entries:
        totals[entry.amount.currency] = totals.get(entry.amount.currency, Decimal(0)) + entry.amount.amount
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class Line:
    time: str
    entry: Entry


@dataclass(frozen=True)
class Side:
    """Captures or refunds of the day: the lines, their totals, or why they are not shown."""

    kind: str
    lines: list[Line]
    totals: dict[str, Decimal]
    too_large: str = ""


def _side(books: Books, asked: BooksQuery, timezone: str, t: Translator) -> Side:
    try:
        entries = books.entries(asked)
    except BooksTooLargeError:
        return Side(asked.kind, [], {}, t("books.too_large"))
    local = zone(timezone)
    lines = [Line(entry.at.astimezone(local).strftime("%H:%M:%S"), entry) for entry in entries]
    return Side(asked.kind, lines, _totals(entries))


@dataclass(frozen=True)
class Activity:
    """The chart of the days to the day shown, and the same in tables."""

    days: list[DayFigures]
    counts: Chart
    amounts: list[tuple[str, Chart]]  # per currency
    reasons: list[tuple[str, int]]  # in words, most first
    reasons_chart: Chart | None
    currencies: list[str]


def _reason(reason: str, t: Translator) -> str:
    known = reason.strip().lower()
    if known in REFUSAL_REASONS:
        return t(f"books.reason.{known.replace(' ', '_')}")
    if known in ("", "-"):
        return t("books.reason.none")
    return t("books.reason.other", reason=reason)


def _day_label(figures: DayFigures, number: int, every: int) -> str:
    return f"{figures.day:%d/%m}" if number % every == 0 else ""


def _count_bars(figures: DayFigures, t: Translator) -> list[tuple[str, float, str]]:
    day = figures.day
    return [
        ("captures", figures.captures, t("books.bar.captures", day=day, count=figures.captures)),
        ("refusals", figures.refusal_count, t("books.bar.refusals", day=day, count=figures.refusal_count)),
        ("refunds", figures.refunds, t("books.bar.refunds", day=day, count=figures.refunds)),
    ]


def _amount_bars(figures: DayFigures, currency: str, t: Translator) -> list[tuple[str, float, str]]:
    captured = figures.captured.get(currency, Decimal(0))
    refunded = figures.refunded.get(currency, Decimal(0))
    return [
        ("captures", float(captured), t("books.bar.captured", day=figures.day, amount=t.money(captured, currency))),
        ("refunds", float(refunded), t("books.bar.refunded", day=figures.day, amount=t.money(refunded, currency))),
    ]


def _activity(books: Books, terminal: TerminalConfig, day: date, t: Translator) -> Activity:
    days = books.activity(terminal, day)
    every = max(len(days) // 6, 1)  # a day's label under every fifth group or so
    counts = grouped_bars([Group(_day_label(f, n, every), _count_bars(f, t)) for n, f in enumerate(days)])
    currencies = sorted({c for figures in days for c in (*figures.captured, *figures.refunded)})
    amounts = [
        (c, grouped_bars([Group(_day_label(f, n, every), _amount_bars(f, c, t)) for n, f in enumerate(days)]))
        for c in currencies
    ]
    by_reason: dict[str, int] = {}
    for figures in days:
        for reason, count in figures.refusals.items():
            words = _reason(reason, t)
            by_reason[words] = by_reason.get(words, 0) + count
    reasons = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    rows = [(words, float(count), f"{words}: {count}") for words, count in reasons]
    reasons_chart = horizontal_bars(rows, "refusals") if rows else None
    return Activity(days, counts, amounts, reasons, reasons_chart, currencies)


@dataclass(frozen=True)
class Finding:
    """One difference of a report, in words."""

    at: str
    reference: str
    kind: str  # in words
    detail: str  # as the reconciliation wrote it (English)
    repaired: bool


def _local(text: str, timezone: str, t: Translator) -> str:
    try:
        return t.time(datetime.fromisoformat(text), timezone)
    except (TypeError, ValueError):
        return str(text)


def _findings(reports: list[KeptReport], timezone: str, t: Translator) -> list[Finding]:
    """Every difference of the reports, those not repaired first, then the newest first."""
    found = []
    for report in reports:
        at = _local(str(report.data.get("started_at", "")), timezone, t)
        for difference in report.differences:
            kind = str(difference.get("kind", ""))
            known = kind in DIFFERENCE_KINDS
            words = t(f"books.difference.{kind}") if known else t("books.difference.other", kind=kind)
            found.append(
                Finding(at, str(difference.get("reference", "")), words, str(difference.get("detail", "")),
                        bool(difference.get("repaired")))
            )  # fmt: skip
    return sorted(found, key=lambda finding: finding.repaired)  # sorted() keeps the newest first within each


def _reports(ctx: Context, timezone: str) -> dict[str, Any]:
    try:
        reports = latest_reports(ctx.deps.report_bucket(), ctx.now)
    except (ConfigurationError, ReportUnavailableError) as exc:
        return {"reports": [], "findings": [], "reports_error": ctx.t("books.reports_unavailable", reason=str(exc))}
    summaries = [
        {
            "at": _local(str(report.data.get("started_at", "")), timezone, ctx.t),
            "source": str(report.data.get("source", "")),
            "days": ", ".join(str(day) for day in report.data.get("days") or []),
            "checked": report.data.get("checked", 0),
            "differences": len(report.differences),
            "unrepaired": report.unrepaired,
            "failures": dict(report.data.get("failures") or {}),
        }
        for report in reports
    ]
    return {"reports": summaries, "findings": _findings(reports, timezone, ctx.t), "reports_error": ""}


def books_page(ctx: Context) -> Response:
    books = Books(ctx.deps.store, ctx.deps.terminals)
    captures = _asked(ctx, "captures")
    terminal = captures.terminal
    timezone = terminal.terminal.timezone
    sides = [_side(books, captures, timezone, ctx.t), _side(books, replace(captures, kind="refunds"), timezone, ctx.t)]
    try:
        activity: Activity | None = _activity(books, terminal, captures.day, ctx.t)
        chart_error = ""
    except BooksTooLargeError:
        activity, chart_error = None, ctx.t("books.chart_too_large")
    day, tpe = captures.day, terminal.tpe
    return ctx.page(
        "books.html",
        day=day,
        tpe=tpe,
        terminals=sorted(ctx.deps.terminals().by_tpe),
        sides=sides,
        activity=activity,
        chart_error=chart_error,
        chart_days=CHART_DAYS,
        before=ctx.url("/console/books", day=(day - timedelta(days=1)).isoformat(), tpe=tpe),
        after=ctx.url("/console/books", day=(day + timedelta(days=1)).isoformat(), tpe=tpe),
        **_reports(ctx, timezone),
    )


def books_csv(ctx: Context) -> Response:
    """The day's captures or refunds (``kind``) of the terminal as the API's CSV export."""
    kind = ctx.request.query.get("kind", "captures")
    if kind not in ("captures", "refunds"):
        raise FormError("kind", "captures or refunds")
    books = Books(ctx.deps.store, ctx.deps.terminals)
    try:
        export = books.export(_asked(ctx, kind, "csv"))
    except BooksTooLargeError as exc:
        raise FormError(exc.field, exc.reason) from None
    headers = {"Content-Disposition": f"attachment; filename={export.filename}"}
    return Response(200, export.text, export.content_type, headers)


ROUTES = [
    Route("GET", "/console/books", "viewer", books_page),
    Route("GET", "/console/books.csv", "viewer", books_csv),
]
