"""E-mails of order events under moto's SES: the buyer's confirmation in each language, the merchant's notices,
every value escaped, once per event however often it is delivered, and nothing without the terminal's settings."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orders.events import events_of_change
from orders.mail import MailSender
from orders.model import Order
from sealing import Instalment, Money
from tests.support.aws import mail_settings
from tests.support.merchant import SAMPLE, confirm, stored_order

SENDER = "boutique@shop.example"
MERCHANT = "commandes@shop.example"
HOSTILE = '<script>alert("x")</script> & <b>Bach</b>'


@pytest.fixture
def ses(aws: Any) -> Any:
    client = boto3.client("ses", region_name="eu-west-3")
    client.verify_email_identity(EmailAddress=SENDER)
    mail = {"sender": SENDER, "merchant": MERCHANT, "merchant_language": "EN"}
    aws.use(mail_settings=lambda: mail_settings(**{"0900157": mail, "0900158": mail}))
    return client


def sent() -> list[EmailMessage]:
    from moto.ses.models import ses_backends

    messages = ses_backends["123456789012"]["eu-west-3"].sent_messages
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in messages]  # type: ignore[misc]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def deliver(aws: Any, lambda_context: Any, before: Order | None, after: Order) -> list[dict[str, Any]]:
    """Hand every event of the change to the mail function, as the bus's rule does; its answers."""
    answers = []
    for event in events_of_change(before, after):
        envelope = {"detail-type": event.type, "source": "merchant-kit.orders", "detail": event.detail}
        answers.append(aws.invoke("order_mail", envelope, lambda_context))
    return answers


def pay(aws: Any, lambda_context: Any, language: str = "FR", **order: Any) -> list[dict[str, Any]]:
    stored_order(aws, SAMPLE, **order)
    aws.dynamodb.update_item(
        TableName=aws.store.table_name,
        Key={"pk": {"S": f"ORDER#{SAMPLE}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET #language = :language",
        ExpressionAttributeNames={"#language": "language"},
        ExpressionAttributeValues={":language": {"S": language}},
    )
    before = aws.store.get(SAMPLE)
    amount = order.get("amount", "62.73")
    confirm(aws, lambda_context, tpe=order.get("tpe", "0900157"), amount=f"{amount}EUR")
    return deliver(aws, lambda_context, before, aws.store.get(SAMPLE))


@pytest.mark.parametrize(
    ("language", "subject", "lead", "amount"),
    [
        ("FR", "Votre paiement à La boutique du CD est confirmé", "a été accepté", "1\u202f062,73 EUR"),
        ("EN", "Your payment to La boutique du CD is confirmed", "was accepted", "1,062.73 EUR"),
        ("DE", "Ihre Zahlung an La boutique du CD ist bestätigt", "wurde angenommen", "1.062,73 EUR"),
        ("IT", "Il suo pagamento a La boutique du CD è confermato", "è stato accettato", "1.062,73 EUR"),
        ("ES", "Su pago a La boutique du CD está confirmado", "ha sido aceptado", "1.062,73 EUR"),
    ],
)
def test_the_buyer_is_mailed_in_the_order_language_with_every_value_escaped(
    aws: Any, lambda_context: Any, ses: Any, language: str, subject: str, lead: str, amount: str
) -> None:
    answers = pay(aws, lambda_context, language=language, amount="1062.73", description=HOSTILE)
    assert {"sent": ["buyer", "merchant"]} in answers
    buyer = next(m for m in sent() if m["To"] == "buyer@example.com")
    assert buyer["Subject"] == subject
    assert buyer["From"] == SENDER
    text, html = parts(buyer)
    assert lead in text
    assert amount in text
    assert amount in html
    assert HOSTILE in text  # plain text: as written
    assert "<script>" not in html  # HTML: escaped
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Bach&lt;/b&gt;" in html
    assert f'<html lang="{language.lower()}">' in html


def test_the_merchant_is_told_of_each_payment(aws: Any, lambda_context: Any, ses: Any) -> None:
    pay(aws, lambda_context)
    merchant = next(m for m in sent() if m["To"] == MERCHANT)
    assert merchant["Subject"] == f"Payment received: {SAMPLE} (62.73 EUR)"
    text, _ = parts(merchant)
    assert f"Order {SAMPLE} is paid: 62.73 EUR, terminal 0900157." in text
    for card_data in ("411111", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45", "1228"):
        assert card_data not in merchant.as_string()


def test_a_deferred_payment_tells_the_buyer_when_the_card_is_charged(aws: Any, lambda_context: Any, ses: Any) -> None:
    pay(aws, lambda_context, tpe="0900158", language="EN")
    text, _ = parts(next(m for m in sent() if m["To"] == "buyer@example.com"))
    assert "is authorised; your card will be charged when the order ships" in text


@pytest.mark.parametrize(("reason", "mailed"), [("filtrage", True), ("Interdit", True), ("Refus", False)])
def test_only_a_refusal_needing_attention_is_mailed_to_the_merchant(
    aws: Any, lambda_context: Any, ses: Any, reason: str, mailed: bool
) -> None:
    before = stored_order(aws, SAMPLE)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, "Annulation", "", reason=reason)
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    subjects = [m["Subject"] for m in sent()]
    assert subjects == ([f"Refused payment to look at: {SAMPLE}"] if mailed else [])


def test_a_refusal_after_the_payment_mails_nobody(aws: Any, lambda_context: Any, ses: Any) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, "Annulation", "", reason="Interdit", date="27/11/2026_a_10:14:00")
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    assert sent() == []  # no "refused payment to look at" for an order that is paid


def test_a_review_marker_is_mailed_to_the_merchant(aws: Any, lambda_context: Any, ses: Any) -> None:
    before = stored_order(aws, SAMPLE)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, amount="1.00EUR")
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    (review,) = sent()
    assert review["Subject"] == f"Order to review: {SAMPLE}"
    assert "needs your attention: amount_mismatch bank confirmed 1.00 EUR" in parts(review)[0]


def test_an_event_delivered_twice_mails_once(aws: Any, lambda_context: Any, ses: Any) -> None:
    before = stored_order(aws, SAMPLE)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context)
    after = aws.store.get(SAMPLE)
    deliver(aws, lambda_context, before, after)
    assert deliver(aws, lambda_context, before, after)[-1] == {"sent": []}
    assert len(sent()) == 2


def test_an_orders_mails_are_found_under_the_order(aws: Any, lambda_context: Any, ses: Any) -> None:
    """The console's timeline reads an order's mails in one query: each names its event and its recipient."""
    stored_order(aws, SAMPLE)
    stored_order(aws, "OTHER00001")
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context)
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    mails = aws.store.mails_of(SAMPLE)
    assert sorted(m.kind for m in mails) == ["buyer", "merchant"]
    assert {m.event_id.split("/")[0] for m in mails} == {SAMPLE}
    assert {m.event_id.rsplit("/", 1)[-1] for m in mails} == {"OrderPaid"}
    assert all(m.rejected is None for m in mails)
    assert aws.store.mails_of("OTHER00001") == []


def test_a_mail_ses_refuses_is_sent_on_the_retry(aws: Any, lambda_context: Any, ses: Any) -> None:
    ses.delete_identity(Identity=SENDER)  # an unverified sender: SES refuses
    before = stored_order(aws, SAMPLE)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context)
    after = aws.store.get(SAMPLE)
    with pytest.raises(Exception, match="SES"):
        deliver(aws, lambda_context, before, after)
    ses.verify_email_identity(EmailAddress=SENDER)
    deliver(aws, lambda_context, before, after)
    assert sorted(m["To"] for m in sent()) == sorted(["buyer@example.com", MERCHANT])


class ChoosySes:
    """SES that refuses what ``refusals`` lists — recipient → (error code, how many times; None: every time) —
    and sends the rest through moto's SES. A dependency passed in, as the real client is."""

    def __init__(self, ses: Any, refusals: dict[str, tuple[str, int | None]]) -> None:
        self.ses = ses
        self.refusals = dict(refusals)
        self.calls: list[str] = []

    def send_raw_email(self, **request: Any) -> Any:
        (to,) = request["Destinations"]
        self.calls.append(to)
        code, times = self.refusals.get(to, ("", 0))
        if times is None or times > 0:
            self.refusals[to] = (code, None if times is None else times - 1)
            message = f"Email address is not verified. The following identities failed the check: {to}"
            if code == "Throttling":
                message = "Maximum sending rate exceeded."
            raise ClientError({"Error": {"Code": code, "Message": message}}, "SendRawEmail")
        return self.ses.send_raw_email(**request)


def paid_order_events(aws: Any, lambda_context: Any) -> tuple[Order, Order]:
    before = stored_order(aws, SAMPLE)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context)
    return before, aws.store.get(SAMPLE)


@pytest.mark.parametrize("code", ["MessageRejected", "InvalidParameterValue"])
def test_a_buyers_mail_ses_rejects_for_good_is_recorded_and_the_merchant_is_mailed(
    aws: Any, lambda_context: Any, ses: Any, code: str
) -> None:
    choosy = ChoosySes(ses, {"buyer@example.com": (code, None)})
    aws.use(mail_sender=MailSender(choosy))
    before, after = paid_order_events(aws, lambda_context)
    assert deliver(aws, lambda_context, before, after) == [{"sent": ["merchant"], "rejected": ["buyer"]}]
    assert [m["To"] for m in sent()] == [MERCHANT]
    claim = aws.dynamodb.scan(TableName=aws.store.table_name, FilterExpression="attribute_exists(rejected_at)")
    (item,) = claim["Items"]
    assert item["sk"]["S"].endswith("#buyer")
    assert code in item["reason"]["S"]
    (rejected,) = [m for m in aws.store.mails_of(SAMPLE) if m.rejected]
    assert rejected.kind == "buyer"
    assert code in str(rejected.rejected)
    # Delivered again (EventBridge at least once): neither mail goes again, the rejected one is not retried.
    assert deliver(aws, lambda_context, before, after) == [{"sent": []}]
    assert choosy.calls == ["buyer@example.com", MERCHANT]


def test_a_buyers_mail_ses_cannot_take_now_is_retried_without_mailing_the_merchant_twice(
    aws: Any, lambda_context: Any, ses: Any
) -> None:
    choosy = ChoosySes(ses, {"buyer@example.com": ("Throttling", 1)})
    aws.use(mail_sender=MailSender(choosy))
    before, after = paid_order_events(aws, lambda_context)
    with pytest.raises(Exception, match="Maximum sending rate exceeded"):
        deliver(aws, lambda_context, before, after)
    assert [m["To"] for m in sent()] == [MERCHANT]  # the merchant's mail went at the first try
    assert deliver(aws, lambda_context, before, after) == [{"sent": ["buyer"]}]  # Lambda's retry
    assert sorted(m["To"] for m in sent()) == sorted(["buyer@example.com", MERCHANT])


def test_a_merchants_mail_ses_cannot_take_now_is_retried_alone(aws: Any, lambda_context: Any, ses: Any) -> None:
    choosy = ChoosySes(ses, {MERCHANT: ("Throttling", 1)})
    aws.use(mail_sender=MailSender(choosy))
    before, after = paid_order_events(aws, lambda_context)
    with pytest.raises(Exception, match="Maximum sending rate exceeded"):
        deliver(aws, lambda_context, before, after)
    assert deliver(aws, lambda_context, before, after) == [{"sent": ["merchant"]}]
    assert choosy.calls == ["buyer@example.com", MERCHANT, MERCHANT]


def test_a_terminal_without_mail_settings_mails_nobody(aws: Any, lambda_context: Any, ses: Any) -> None:
    aws.use(mail_settings=lambda: mail_settings(**{"0900158": {"sender": SENDER, "merchant": MERCHANT}}))
    assert pay(aws, lambda_context)[-1] == {"sent": []}
    assert sent() == []


def split_order(aws: Any, language: str) -> None:
    thirds = tuple(
        Instalment(due, Money(Decimal("20.00"), "EUR"))
        for due in (date(2026, 11, 27), date(2026, 12, 27), date(2027, 1, 27))
    )
    stored_order(aws, SAMPLE, amount="60.00", instalments=thirds, language=language)


@pytest.mark.parametrize(
    ("language", "title", "second"),
    [
        ("FR", "Paiement en 3 fois :", "27 décembre 2026 : 20,00 EUR"),
        ("EN", "Payment in 3 instalments:", "27 December 2026: 20.00 EUR"),
        ("DE", "Zahlung in 3 Raten:", "27. Dezember 2026: 20,00 EUR"),
        ("IT", "Pagamento in 3 rate:", "27 dicembre 2026: 20,00 EUR"),
        ("ES", "Pago en 3 plazos:", "27 de diciembre de 2026: 20,00 EUR"),
    ],
)
def test_the_buyer_of_a_split_payment_is_mailed_its_schedule(
    aws: Any, lambda_context: Any, ses: Any, language: str, title: str, second: str
) -> None:
    split_order(aws, language)
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, amount="60.00EUR", extra=(("montantech", "20.00EUR"),))
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    text, html = parts(next(m for m in sent() if m["To"] == "buyer@example.com"))
    assert title in text
    assert f"- {second}\n" in text
    assert f"<li>{second}</li>" in html
    assert text.count("EUR (") == 1  # the first instalment, marked as paid; the others to come


def test_a_refused_instalment_is_mailed_to_the_merchant_once(aws: Any, lambda_context: Any, ses: Any) -> None:
    split_order(aws, "FR")
    confirm(aws, lambda_context, amount="60.00EUR", extra=(("montantech", "20.00EUR"),))
    before = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, "Annulation_pf2", "", amount="60.00EUR", date="27/12/2026_a_10:00:00", reason="Refus")
    deliver(aws, lambda_context, before, aws.store.get(SAMPLE))
    (notice,) = sent()
    assert notice["To"] == MERCHANT
    assert notice["Subject"] == f"Instalment refused: {SAMPLE}"
    assert (
        f"The bank refused instalment 2 of order {SAMPLE}: 20.00 EUR due on 27 December 2026. "
        "Collected so far: 20.00 EUR of 60.00 EUR." in parts(notice)[0]
    )
