"""Reconciliation with the bank under moto and the fake bank: a missed confirmation and a dashboard refund
repaired (once), a difference the books cannot be brought to reported and left alone, the bank's XML file of
captures compared, and each run's report kept in S3 and told on the bus."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orders import daybook
from orders.amounts import plan_refund
from orders.model import APPLIED_OUTSIDE_API, OperationRecord, Order, OrderStatus, PaymentSession, PendingOperation
from orders.reconciliation import Reconciler, changed_days, reconciliation_days
from orders.sessions import bank_reference
from orders.store import order_key
from orders.terminals import PaymentMode
from sealing import BankFileError, Money, read_captures_xml
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import CONSOLE, SAMPLE, SESSION, confirm, stored_order
from tests.support.reconciliation import Reconciliation, drain, reconciliation_resources

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LATER = CREATED + timedelta(hours=2)
DAY = date(2026, 11, 27)


def through_today() -> list[date]:
    """The order day, and today: ``confirm`` writes the order at the real clock, the day it is changed on."""
    return [DAY, datetime.now(UTC).date()]


def reconciler(aws: Any) -> Reconciler:
    return Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client)


def test_a_missed_confirmation_is_recorded_from_the_bank_status_once(
    aws: Any,
    lambda_context: Any,
    bank: FakeBank,
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))  # paid, never confirmed
    report = reconciler(aws).run([DAY], LATER, "test")
    assert [(d.reference, d.kind, d.repaired) for d in report.differences] == [(SAMPLE, "missed_confirmation", True)]
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert (order.bank_reference, order.authorisation_number, order.captured) == (SESSION, "123456", Decimal("62.73"))
    assert order.attempts[-1].confirmation_id == f"status:{SESSION}"
    assert reconciler(aws).run([DAY], LATER, "test").differences == []  # nothing left to repair
    # The late confirmation itself is the same acceptance: nothing more.
    confirm(aws, lambda_context)
    assert aws.store.get(SAMPLE).reviews == ()


def test_a_missed_payment_repaired_the_day_after_is_booked_on_the_day_the_bank_took_it(
    aws: Any, bank: FakeBank
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), captured_on=DAY)
    next_morning = CREATED + timedelta(days=1)
    report = reconciler(aws).run([DAY], next_morning, "test")
    assert [(d.reference, d.kind, d.repaired) for d in report.differences] == [(SAMPLE, "missed_confirmation", True)]
    order = aws.store.get(SAMPLE)
    assert (order.paid_at, order.paid_on) == (next_morning, DAY)  # recorded the next morning, taken the day before
    terminals = aws.deps.terminals()
    assert [e.reference for e in daybook.booked_pages(aws.store, terminals, DAY, "captures", 10)] == [SAMPLE]
    assert daybook.booked_pages(aws.store, terminals, DAY + timedelta(days=1), "captures", 10) == []


def test_an_order_whose_buyer_may_still_be_paying_is_not_asked_about(aws: Any, bank: FakeBank) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    report = reconciler(aws).run([DAY], CREATED + timedelta(minutes=30), "test")
    assert (report.checked, report.differences, bank.calls) == (0, [], [])


def test_a_session_whose_form_was_served_again_is_asked_about_once_the_bank_may_take_it_no_more(
    aws: Any, bank: FakeBank
) -> None:
    served = CREATED + timedelta(minutes=40)  # the buyer's checkout page showed the form again
    stored_order(aws, SAMPLE, created_at=CREATED, sessions=(PaymentSession(0, SESSION, CREATED, served),))
    assert reconciler(aws).run([DAY], CREATED + timedelta(minutes=80), "test").checked == 0
    assert bank.calls == []
    assert reconciler(aws).run([DAY], LATER, "test").checked == 1


def test_a_session_whose_attempts_are_used_is_asked_about_at_once(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    for second in range(4):  # the bank's four attempts, refused: it takes the reference no more
        confirm(aws, lambda_context, "Annulation", "", reason="Refus", date=f"27/11/2026_a_09:01:{second:02}")
    moment = aws.store.get(SAMPLE).attempts[-1].received_at + timedelta(minutes=1)
    assert reconciler(aws).run(through_today(), moment, "test").checked == 1


def test_an_unpaid_order_the_bank_never_saw_paid_is_no_difference(aws: Any, bank: FakeBank) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    report = reconciler(aws).run([DAY], LATER, "test")
    assert (report.checked, report.differences) == (1, [])
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT


def test_a_refund_made_in_the_bank_dashboard_is_recorded(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), refunded=Decimal("20.00"))
    report = reconciler(aws).run(through_today(), LATER, "test")
    assert [(d.kind, d.repaired) for d in report.differences] == [("done_at_the_bank", True)]
    order = aws.store.get(SAMPLE)
    assert (order.status, order.refunded) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("20.00"))
    assert order.operations[-1].outcome == APPLIED_OUTSIDE_API
    assert reconciler(aws).run(through_today(), LATER, "test").differences == []


def test_a_difference_the_books_cannot_be_brought_to_is_reported_not_overwritten(
    aws: Any,
    lambda_context: Any,
    bank: FakeBank,
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("50.00"))
    before = aws.store.get(SAMPLE)
    report = reconciler(aws).run(through_today(), LATER, "test")
    assert [(d.kind, d.repaired) for d in report.differences] == [("status_differs", False)]
    assert "the bank shows 50.00 EUR captured, the books 62.73 EUR" in report.differences[0].detail
    assert aws.store.get(SAMPLE) == before


OLD = datetime(2026, 10, 28, 9, 0, tzinfo=UTC)  # 30 days before the console refund
REFUNDED_AT = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
NEXT_RUN = datetime(2026, 11, 28, 5, 30, tzinfo=UTC)  # the daily schedule, the morning after


def paid_long_ago(aws: Any, reference: str) -> None:
    """An order paid 30 days ago (the bank knows it by its own reference, as older orders)."""
    order = Order(
        reference=reference,
        tpe="0900157",
        mode=PaymentMode.IMMEDIATE,
        status=OrderStatus.PAID,
        amount=Money(Decimal("62.73"), "EUR"),
        email="buyer@example.com",
        language="FR",
        checkout_token_hash="0" * 64,
        created_at=OLD,
        captured=Decimal("62.73"),
    )
    aws.store.create(order)


def test_an_old_order_changed_yesterday_and_refunded_in_the_dashboard_is_repaired_by_the_daily_run(
    aws: Any,
    lambda_context: Any,
    bank: FakeBank,
    resources: Reconciliation,
) -> None:
    paid_long_ago(aws, SAMPLE)
    bank.accounts[SAMPLE] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    reconciler(aws).office.refund(SAMPLE, Decimal("10.00"), REFUNDED_AT, CONSOLE)  # through the console: a change
    bank.accounts[SAMPLE].refunded += Decimal("20.00")  # and more in the bank's dashboard, after it
    schedule = {"detail-type": "Scheduled Event", "source": "aws.events", "time": NEXT_RUN.isoformat()}
    started = aws.invoke("reconciliation", schedule, lambda_context)
    drain(aws, resources, lambda_context)  # one order: a part checks its first whatever its budget
    answer = resources.report(started["report_key"])
    assert [(d["reference"], d["kind"], d["repaired"]) for d in answer["differences"]] == [
        (SAMPLE, "done_at_the_bank", True)
    ]
    order = aws.store.get(SAMPLE)
    assert (order.status, order.refunded) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("30.00"))
    assert order.operations[-1].outcome == APPLIED_OUTSIDE_API


def test_the_run_reads_only_the_orders_changed_or_awaiting_not_the_table(
    aws: Any,
    bank: FakeBank,
) -> None:
    for number in range(6):  # paid long ago, never changed since: nothing to ask the bank
        paid_long_ago(aws, f"EVTQUIET{number:02d}")
    paid_long_ago(aws, SAMPLE)
    bank.accounts[SAMPLE] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    reconciler(aws).office.refund(SAMPLE, Decimal("10.00"), REFUNDED_AT, CONSOLE)
    stored_order(aws, "EVTWAITING", created_at=REFUNDED_AT)  # awaiting payment, of the order day read
    read: list[int] = []
    aws.dynamodb.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: read.append(int(parsed.get("ScannedCount", 0)))
    )
    bank.calls.clear()
    report = reconciler(aws).run([REFUNDED_AT.date()], NEXT_RUN, "test")
    assert "Scan" not in aws.calls
    assert sum(read) == 3, "the refunded order and the waiting one (changed that day), the waiting one by its day"
    assert report.checked == 2
    assert len(bank.calls) == 2, "one status asked per order checked"


def changed_day_of(aws: Any, reference: str) -> str:
    item = aws.dynamodb.get_item(TableName=aws.store.table_name, Key=order_key(reference), ConsistentRead=True)["Item"]
    return str(item.get("changed_day", {}).get("S", ""))


def test_every_order_write_but_a_new_session_stamps_its_utc_day(aws: Any, lambda_context: Any) -> None:
    day = [OLD + timedelta(days=n) for n in range(5)]
    order = stored_order(aws, SAMPLE, created_at=OLD.replace(hour=23, minute=30))  # 00:30 in Paris: UTC's day
    assert changed_day_of(aws, SAMPLE) == "2026-10-28"
    order = aws.store.open_session(order, PaymentSession(1, f"{SAMPLE}01", day[1]))
    assert changed_day_of(aws, SAMPLE) == "2026-10-28", "a new payment session is no change the bank knows of"
    confirm(aws, lambda_context)  # applied at the real clock
    assert changed_day_of(aws, SAMPLE) == datetime.now(UTC).date().isoformat()
    order = aws.store.get(SAMPLE)
    pending = PendingOperation("op1", plan_refund(order, Decimal("5.00")), day[2], CONSOLE)
    order = aws.store.begin_operation(order, pending)
    assert changed_day_of(aws, SAMPLE) == day[2].date().isoformat()
    done = OperationRecord("op1", pending.plan.event, pending.plan.amount, day[3], "done", actor=CONSOLE)
    aws.store.finish_operation(order, done, pending.plan, "op1")
    assert changed_day_of(aws, SAMPLE) == day[3].date().isoformat()
    aws.store.record_conflict(SAMPLE, done, day[4])
    assert changed_day_of(aws, SAMPLE) == day[4].date().isoformat()


CAPTURES_XML = """<?xml version="1.0" encoding="UTF-8"?>
<recouvrements tpe="0900157" societe="boutiqueducd" date="{day:%d/%m/%Y}">
  <paiement><reference>{session}</reference><date_commande>27/11/2026</date_commande><heure>10:15:00</heure>
    <montant>62.73EUR</montant><montant_recouvre>62.73EUR</montant_recouvre><numauto>123456</numauto>
    <carte>4111 11XX XXXX 1111</carte></paiement>
  <paiement><reference>NOSUCHORDER00</reference><montant>10.00EUR</montant><montant_recouvre>10.00EUR</montant_recouvre>
  </paiement>
  <paiement><reference>EVTOTHER0000</reference><montant>30.00EUR</montant><montant_recouvre>30.00EUR</montant_recouvre>
  </paiement>
</recouvrements>
"""


def test_the_bank_file_of_captures_is_compared_and_differences_reported(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    stored_order(aws, "EVTOTHER00", created_at=CREATED, amount="30.00")  # never paid in the books
    before = aws.store.get("EVTOTHER00")
    report = reconciler(aws).import_file(
        CAPTURES_XML.format(session=SESSION, day=paris_today()).encode(), LATER, "file.xml"
    )
    assert report.checked == 3
    assert [(d.reference, d.kind) for d in report.differences] == [
        ("NOSUCHORDER00", "captured_unknown_order"),
        ("EVTOTHER00", "captured_amount_differs"),
    ]
    assert aws.store.get("EVTOTHER00") == before


@pytest.mark.parametrize(
    ("xml", "field", "message"),
    [
        ("<html/>", "body", "the root element is <html>"),
        ("<recouvrements><paiement><reference>A</reference></paiement>", "line 1 column 61", "not well-formed XML"),
        ("<recouvrements><paiement><reference>A</reference><montant_recouvre>1,00EUR</montant_recouvre>"
         "</paiement></recouvrements>", "paiement[1].montant_recouvre", "is not an amount like 62.73EUR"),
        ("<recouvrements><paiement><montant_recouvre>1.00EUR</montant_recouvre></paiement></recouvrements>",
         "paiement[1].reference", "is missing"),
        ('<recouvrements date="2026-11-27"/>', "recouvrements.date", "is not a day like 27/11/2026"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><recouvrements/>', "body", "DTD"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_the_bank_one_is_refused_clearly(xml: str, field: str, message: str) -> None:
    with pytest.raises(BankFileError, match=message) as refused:
        read_captures_xml(xml)
    assert refused.value.field == field


@pytest.fixture
def resources(aws: Any) -> Reconciliation:
    return reconciliation_resources(aws)


@pytest.fixture
def reports(resources: Reconciliation) -> tuple[Any, Any, str]:
    return resources.s3, resources.sqs, resources.reported_url


def test_the_console_import_keeps_its_report_in_s3_and_tells_the_bus(
    aws: Any, lambda_context: Any, reports: tuple[Any, Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    s3, sqs, queue_url = reports
    request = {
        "httpMethod": "POST",
        "resource": "/reconciliation/captures",
        "headers": {"Content-Type": "application/xml"},
        "body": CAPTURES_XML.format(session=SESSION, day=DAY),
        "isBase64Encoded": False,
    }
    answer = aws.invoke("reconciliation", request, lambda_context)
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert [d["kind"] for d in body["differences"]] == ["captured_unknown_order"] * 3
    kept = json.loads(s3.get_object(Bucket="reports-test", Key=body["report_key"])["Body"].read())
    assert kept["differences"] == body["differences"]
    assert body["report_key"].startswith("reconciliation/")
    (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    told = json.loads(message["Body"])
    assert (told["detail"]["differences"], told["detail"]["report_key"]) == (3, body["report_key"])
    assert '"ReconciliationDifferences":[3.0]' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("/reconciliation", '{"day": "27/11/2026"}', "day"),
        ("/reconciliation", '{"days": 3}', "days"),
        ("/reconciliation/captures", "", "body"),
        ("/reconciliation/captures", "date;montant\n27/11/2026;62.73\n", "body"),
        ("/reconciliation/captures", "<recouvrements><paiement>", "line 1 column 26"),
        ("/reconciliation/captures", "<html><body>report</body></html>", "body"),
        ("/reconciliation/captures", "\n27/11/2026" + ";" * 20 + "\n", "line 2 column 2 (TPE)"),
        ("/reconciliation/captures", "27/11/2026;0900157;EVTSAMPLE000;PA;27/11/2026;10:15:00;62,73" + ";" * 14,
         "line 1 column 7 (montant)"),
    ],
)  # fmt: skip
def test_console_requests_with_bad_input_name_the_field(
    aws: Any, lambda_context: Any, reports: Any, resource: str, body: str, field: str
) -> None:
    request = {"httpMethod": "POST", "resource": resource, "headers": {}, "body": body, "isBase64Encoded": False}
    answer = aws.invoke("reconciliation", request, lambda_context)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["field"] == field
    assert json.loads(answer["body"])["error"]["message"].startswith(f"{field}: ")


def test_a_scheduled_run_without_a_time_checks_the_days_of_the_dependencies_clock(
    aws: Any, lambda_context: Any, reports: Any
) -> None:
    aws.use(clock=lambda: LATER)
    answer = aws.invoke("reconciliation", {"detail-type": "Scheduled Event", "source": "aws.events"}, lambda_context)
    assert answer["days"] == [(DAY - timedelta(days=1)).isoformat(), DAY.isoformat()]


def paris_today() -> date:
    """The day ``confirm`` books an immediate payment on: it is applied at the real clock, in Paris time."""
    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date()


def day_file(day: date, *payments: tuple[str, str]) -> bytes:
    """The bank's XML file of ``day``'s captures of terminal 0900157: (bank reference, amount) each."""
    items = "".join(
        f"<paiement><reference>{reference}</reference><montant>{amount}</montant>"
        f"<montant_recouvre>{amount}</montant_recouvre><numauto>123456</numauto></paiement>"
        for reference, amount in payments
    )
    return f'<recouvrements tpe="0900157" societe="boutiqueducd" date="{day:%d/%m/%Y}">{items}</recouvrements>'.encode()


def test_two_captures_of_one_order_under_two_sessions_are_summed_and_reported(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED, sessions=(
        PaymentSession(0, SESSION, CREATED), PaymentSession(1, f"{SAMPLE}01", CREATED + timedelta(hours=1)),
    ))  # fmt: skip
    confirm(aws, lambda_context)  # the books: one payment of 62.73 under SESSION
    today = paris_today()
    consistent = reconciler(aws).import_file(day_file(today, (SESSION, "62.73EUR")), LATER, "day.xml")
    assert consistent.differences == []
    doubled = day_file(today, (SESSION, "62.73EUR"), (f"{SAMPLE}01", "62.73EUR"))
    report = reconciler(aws).import_file(doubled, LATER, "day.xml")
    assert [(d.reference, d.kind, d.repaired) for d in report.differences] == [
        (SAMPLE, "captured_amount_differs", False)
    ]
    detail = report.differences[0].detail
    assert f"the bank collected 125.46 EUR for {SAMPLE}" in detail
    assert f"62.73 EUR under {SAMPLE}01" in detail
    assert "the books 62.73 EUR" in detail


def test_two_captures_under_one_session_are_summed(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    doubled = day_file(paris_today(), (SESSION, "62.73EUR"), (SESSION, "62.73EUR"))
    report = reconciler(aws).import_file(doubled, LATER, "day.xml")
    assert [(d.reference, d.kind) for d in report.differences] == [(SAMPLE, "captured_amount_differs")]
    assert "the bank collected 125.46 EUR" in report.differences[0].detail


def test_a_capture_in_the_books_the_bank_file_of_that_day_lacks_is_reported(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    stored_order(aws, "EVTOTHER00", created_at=CREATED, amount="30.00")
    confirm(aws, lambda_context, reference="EVTOTHER0000", amount="30.00EUR")
    report = reconciler(aws).import_file(day_file(paris_today(), (SESSION, "62.73EUR")), LATER, "day.xml")
    assert [(d.reference, d.kind) for d in report.differences] == [("EVTOTHER00", "captured_amount_differs")]
    assert "the bank collected nothing for EVTOTHER00" in report.differences[0].detail
    assert "the books 30.00 EUR (30.00 EUR under EVTOTHER0000)" in report.differences[0].detail
    other_day = reconciler(aws).import_file(day_file(date(2026, 1, 2)), LATER, "day.xml")
    assert other_day.differences == []


def export_line(day: date | None, reference: str, state: str, amount: str) -> str:
    """A line of the bank's CSV export of payments (21 columns)."""
    collected = f"{day:%d/%m/%Y}" if day else ""
    return (
        f"{collected};0900157;{reference};{state};27/11/2026;10:15:00;{amount};EUR;123456;payetest;A1B2C3D4E5F6;VI;"
        "1228;oui;;1;411111******1111;FRA;;203.0.113.9;FRA\r\n"
    )


def test_the_bank_csv_export_posted_to_the_console_is_summed_and_compared(
    aws: Any, lambda_context: Any, reports: Any
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED, sessions=(
        PaymentSession(0, SESSION, CREATED), PaymentSession(1, f"{SAMPLE}01", CREATED + timedelta(hours=1)),
    ))  # fmt: skip
    confirm(aws, lambda_context)
    today = paris_today()
    consistent = export_line(today, SESSION, "PA", "62.73") + export_line(None, f"{SAMPLE}01", "AN", "62.73")

    def post(body: bytes) -> dict[str, Any]:
        request = {"httpMethod": "POST", "resource": "/reconciliation/captures", "headers": {}, "isBase64Encoded": True,
                   "body": base64.b64encode(body).decode()}  # fmt: skip
        answer = aws.invoke("reconciliation", request, lambda_context)
        assert answer["statusCode"] == 200, answer["body"]
        return json.loads(answer["body"])  # type: ignore[no-any-return]

    report = post(consistent.encode("latin-1"))
    assert (report["source"], report["days"], report["differences"]) == ("console-import-csv", [today.isoformat()], [])
    doctored = export_line(today, SESSION, "PA", "62.73") + export_line(today, f"{SAMPLE}01", "PA", "62.73")
    doctored += export_line(today, "NOSUCHORDER00", "PA", "9.99")
    report = post(doctored.encode())
    assert [(d["reference"], d["kind"]) for d in report["differences"]] == [
        ("NOSUCHORDER00", "captured_unknown_order"),
        (SAMPLE, "captured_amount_differs"),
    ]
    assert (
        f"the bank collected 125.46 EUR for {SAMPLE} (62.73 EUR under {SESSION}, 62.73 EUR under {SAMPLE}01)"
        in (report["differences"][1]["detail"])
    )


def test_only_the_sessions_that_could_have_been_paid_since_the_window_began_are_asked(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    real = datetime.now(UTC)
    old = [PaymentSession(n, bank_reference(SAMPLE, n), real - timedelta(days=40 - n)) for n in range(36)]
    recent = PaymentSession(36, bank_reference(SAMPLE, 36), real - timedelta(hours=20))
    refused = PaymentSession(37, bank_reference(SAMPLE, 37), real - timedelta(hours=2))
    stored_order(aws, SAMPLE, created_at=real - timedelta(days=40), sessions=(*old, recent, refused))
    # A card refused just now under the last session: the buyer may still be on the bank's page.
    assert (
        confirm(aws, lambda_context, "Annulation", "", reference=refused.bank_reference, reason="Refus")["statusCode"]
        == 200
    )
    bank.calls.clear()

    def asked(now: datetime) -> list[str]:
        bank.calls.clear()
        reconciler(aws).run(changed_days(now), now, "test", reconciliation_days(now, "Europe/Paris", 1))
        return [fields["reference"] for cgi, fields in bank.calls if cgi == "etatpaiement.cgi"]

    assert asked(real + timedelta(minutes=10)) == [recent.bank_reference]
    assert asked(real + timedelta(hours=1)) == [recent.bank_reference, refused.bank_reference]


def test_an_uploaded_file_is_imported_and_one_that_is_not_the_banks_is_reported_where(
    aws: Any, lambda_context: Any, reports: Any
) -> None:
    s3, _, _ = reports
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context)
    uploads = {
        "imports/export.csv": export_line(paris_today(), SESSION, "PA", "62.73").encode("latin-1"),
        "imports/broken.csv": export_line(paris_today(), SESSION, "PA", "62,73").encode(),
    }
    answers = {}
    for key, body in uploads.items():
        s3.put_object(Bucket="reports-test", Key=key, Body=body)
        event = {"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {"key": key}}}
        answers[key] = aws.invoke("reconciliation", event, lambda_context)
    assert (answers["imports/export.csv"]["source"], answers["imports/export.csv"]["differences"]) == (
        "imports/export.csv",
        [],
    )
    (unreadable,) = answers["imports/broken.csv"]["differences"]
    assert unreadable["kind"] == "unreadable_file"
    assert unreadable["detail"].startswith("line 1 column 7 (montant): '62,73' is not an amount like 62.73")
