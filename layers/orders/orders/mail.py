"""The e-mails an order event sends: the buyer's payment confirmation in the order's language (with a split payment's
schedule), and the merchant's notices (each payment, each refusal needing attention, each refused instalment, each
review marker), in plain text and HTML.

Bodies are Jinja2 templates; the HTML one escapes every value (autoescape), the text one takes values with their
control characters removed, and a subject is one line. Nothing of the card is ever in a mail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sealing import MINOR_UNITS, Money

from .clients import LazyClient
from .events import (
    INSTALMENT_REFUSED,
    ORDER_AUTHORIZED,
    ORDER_NEEDS_REVIEW,
    ORDER_PAID,
    PAYMENT_REFUSED,
    SECOND_PAYMENT_GIVEN_BACK,
)
from .exceptions import MailRejectedError, MailUnavailableError
from .model import InstalmentState, Order, OrderStatus, ReviewReason
from .terminals import MAIL_LANGUAGES, MailSettings

if TYPE_CHECKING:
    from jinja2 import Template

# The bank's refusal reasons (motifrefus) the merchant should look at: a blocked card, the merchant's own
# fraud filters or scoring, a call to the bank asked. An ordinary refusal or a failed 3-D Secure is the buyer's.
ATTENTION_REASONS = frozenset({"interdit", "filtrage", "scoring", "appel phonie"})

PHRASES: dict[str, dict[str, str]] = {
    "FR": {
        "subject_paid": "Votre paiement à {merchant} est confirmé",
        "hello": "Bonjour,",
        "paid": "Votre paiement de {amount} pour la commande {reference} a été accepté.",
        "authorized": "Votre paiement de {amount} pour la commande {reference} est autorisé ; "
        "votre carte sera débitée à l'expédition.",
        "bought": "Votre achat :",
        "authorisation": "Numéro d'autorisation :",
        "thanks": "Merci de votre confiance.",
        "m_subject_paid": "Paiement reçu : {reference} ({amount})",
        "m_subject_refused": "Paiement refusé à regarder : {reference}",
        "m_subject_review": "Commande à vérifier : {reference}",
        "m_paid": "La commande {reference} est payée : {amount}, terminal {tpe}.",
        "m_refused": "La banque a refusé un paiement de la commande {reference} ({amount}) pour le motif « {reason} ».",
        "m_review": "La commande {reference} ({amount}) demande votre attention : {reason}.",
        "m_subject_given_back": "Second paiement rendu : {reference} ({amount})",
        "m_given_back_refund_full": "Un second paiement de {amount} a été accepté pour la commande {reference}, "
        "sous la référence {bank_reference} (autorisation {second_authorisation}) ; il a été remboursé à la banque "
        "automatiquement. La commande reste payée une fois.",
        "m_given_back_cancel": "Une seconde autorisation de {amount} a été accordée pour la commande {reference}, sous "
        "la référence {bank_reference} (autorisation {second_authorisation}) ; elle a été annulée à la banque "
        "automatiquement. La commande reste payée une fois.",
        "m_status": "État de la commande :",
        "schedule": "Paiement en {count} fois :",
        "collected": "payée",
        "m_subject_instalment": "Échéance refusée : {reference}",
        "m_instalment": "La banque a refusé l'échéance {number} de la commande {reference} : {amount} dus le {due}. "
        "Encaissé à ce jour : {captured} sur {total}.",
    },
    "EN": {
        "subject_paid": "Your payment to {merchant} is confirmed",
        "hello": "Hello,",
        "paid": "Your payment of {amount} for order {reference} was accepted.",
        "authorized": "Your payment of {amount} for order {reference} is authorised; "
        "your card will be charged when the order ships.",
        "bought": "Your purchase:",
        "authorisation": "Authorisation number:",
        "thanks": "Thank you for your order.",
        "m_subject_paid": "Payment received: {reference} ({amount})",
        "m_subject_refused": "Refused payment to look at: {reference}",
        "m_subject_review": "Order to review: {reference}",
        "m_paid": "Order {reference} is paid: {amount}, terminal {tpe}.",
        "m_refused": "The bank refused a payment for order {reference} ({amount}) with the reason “{reason}”.",
        "m_review": "Order {reference} ({amount}) needs your attention: {reason}.",
        "m_subject_given_back": "Second payment given back: {reference} ({amount})",
        "m_given_back_refund_full": "A second payment of {amount} was accepted for order {reference}, under the "
        "reference {bank_reference} (authorisation {second_authorisation}); it was refunded at the bank "
        "automatically. The order stays paid once.",
        "m_given_back_cancel": "A second authorisation of {amount} was granted for order {reference}, under the "
        "reference {bank_reference} (authorisation {second_authorisation}); it was cancelled at the bank "
        "automatically. The order stays paid once.",
        "m_status": "Order status:",
        "schedule": "Payment in {count} instalments:",
        "collected": "paid",
        "m_subject_instalment": "Instalment refused: {reference}",
        "m_instalment": "The bank refused instalment {number} of order {reference}: {amount} due on {due}. "
        "Collected so far: {captured} of {total}.",
    },
    "DE": {
        "subject_paid": "Ihre Zahlung an {merchant} ist bestätigt",
        "hello": "Guten Tag,",
        "paid": "Ihre Zahlung von {amount} für die Bestellung {reference} wurde angenommen.",
        "authorized": "Ihre Zahlung von {amount} für die Bestellung {reference} ist autorisiert; "
        "Ihre Karte wird beim Versand belastet.",
        "bought": "Ihr Einkauf:",
        "authorisation": "Autorisierungsnummer:",
        "thanks": "Vielen Dank für Ihre Bestellung.",
        "m_subject_paid": "Zahlung erhalten: {reference} ({amount})",
        "m_subject_refused": "Abgelehnte Zahlung prüfen: {reference}",
        "m_subject_review": "Bestellung prüfen: {reference}",
        "m_paid": "Die Bestellung {reference} ist bezahlt: {amount}, Terminal {tpe}.",
        "m_refused": "Die Bank hat eine Zahlung der Bestellung {reference} ({amount}) abgelehnt: „{reason}“.",
        "m_review": "Die Bestellung {reference} ({amount}) braucht Ihre Aufmerksamkeit: {reason}.",
        "m_subject_given_back": "Zweite Zahlung zurückgegeben: {reference} ({amount})",
        "m_given_back_refund_full": "Eine zweite Zahlung von {amount} wurde für die Bestellung {reference} unter der "
        "Referenz {bank_reference} (Autorisierung {second_authorisation}) angenommen; sie wurde bei der Bank "
        "automatisch erstattet. Die Bestellung bleibt einmal bezahlt.",
        "m_given_back_cancel": "Eine zweite Autorisierung von {amount} wurde für die Bestellung {reference} unter der "
        "Referenz {bank_reference} (Autorisierung {second_authorisation}) erteilt; sie wurde bei der Bank "
        "automatisch storniert. Die Bestellung bleibt einmal bezahlt.",
        "m_status": "Status der Bestellung:",
        "schedule": "Zahlung in {count} Raten:",
        "collected": "bezahlt",
        "m_subject_instalment": "Rate abgelehnt: {reference}",
        "m_instalment": "Die Bank hat die Rate {number} der Bestellung {reference} abgelehnt: "
        "{amount}, fällig am {due}. Bisher eingezogen: {captured} von {total}.",
    },
    "IT": {
        "subject_paid": "Il suo pagamento a {merchant} è confermato",
        "hello": "Buongiorno,",
        "paid": "Il suo pagamento di {amount} per l'ordine {reference} è stato accettato.",
        "authorized": "Il suo pagamento di {amount} per l'ordine {reference} è autorizzato; "
        "la carta sarà addebitata alla spedizione.",
        "bought": "Il suo acquisto:",
        "authorisation": "Numero di autorizzazione:",
        "thanks": "Grazie per il suo ordine.",
        "m_subject_paid": "Pagamento ricevuto: {reference} ({amount})",
        "m_subject_refused": "Pagamento rifiutato da verificare: {reference}",
        "m_subject_review": "Ordine da verificare: {reference}",
        "m_paid": "L'ordine {reference} è pagato: {amount}, terminale {tpe}.",
        "m_refused": "La banca ha rifiutato un pagamento dell'ordine {reference} ({amount}): «{reason}».",
        "m_review": "L'ordine {reference} ({amount}) richiede attenzione: {reason}.",
        "m_subject_given_back": "Secondo pagamento restituito: {reference} ({amount})",
        "m_given_back_refund_full": "Un secondo pagamento di {amount} è stato accettato per l'ordine {reference}, con "
        "il riferimento {bank_reference} (autorizzazione {second_authorisation}); è stato rimborsato "
        "automaticamente dalla banca. L'ordine resta pagato una volta.",
        "m_given_back_cancel": "Una seconda autorizzazione di {amount} è stata concessa per l'ordine {reference}, con "
        "il riferimento {bank_reference} (autorizzazione {second_authorisation}); è stata annullata "
        "automaticamente dalla banca. L'ordine resta pagato una volta.",
        "m_status": "Stato dell'ordine:",
        "schedule": "Pagamento in {count} rate:",
        "collected": "pagata",
        "m_subject_instalment": "Rata rifiutata: {reference}",
        "m_instalment": "La banca ha rifiutato la rata {number} dell'ordine {reference}: "
        "{amount} in scadenza il {due}. Incassato finora: {captured} su {total}.",
    },
    "ES": {
        "subject_paid": "Su pago a {merchant} está confirmado",
        "hello": "Hola:",
        "paid": "Su pago de {amount} para el pedido {reference} ha sido aceptado.",
        "authorized": "Su pago de {amount} para el pedido {reference} está autorizado; "
        "se cargará en su tarjeta al enviar el pedido.",
        "bought": "Su compra:",
        "authorisation": "Número de autorización:",
        "thanks": "Gracias por su pedido.",
        "m_subject_paid": "Pago recibido: {reference} ({amount})",
        "m_subject_refused": "Pago rechazado que revisar: {reference}",
        "m_subject_review": "Pedido que revisar: {reference}",
        "m_paid": "El pedido {reference} está pagado: {amount}, terminal {tpe}.",
        "m_refused": "El banco rechazó un pago del pedido {reference} ({amount}): «{reason}».",
        "m_review": "El pedido {reference} ({amount}) requiere su atención: {reason}.",
        "m_subject_given_back": "Segundo pago devuelto: {reference} ({amount})",
        "m_given_back_refund_full": "Se aceptó un segundo pago de {amount} para el pedido {reference}, con la "
        "referencia {bank_reference} (autorización {second_authorisation}); el banco lo reembolsó "
        "automáticamente. El pedido sigue pagado una vez.",
        "m_given_back_cancel": "Se concedió una segunda autorización de {amount} para el pedido {reference}, con la "
        "referencia {bank_reference} (autorización {second_authorisation}); el banco la anuló "
        "automáticamente. El pedido sigue pagado una vez.",
        "m_status": "Estado del pedido:",
        "schedule": "Pago en {count} plazos:",
        "collected": "pagado",
        "m_subject_instalment": "Plazo rechazado: {reference}",
        "m_instalment": "El banco rechazó el plazo {number} del pedido {reference}: {amount} con vencimiento el {due}. "
        "Cobrado hasta ahora: {captured} de {total}.",
    },
}

# An order's state as the merchant reads it, by language, in ``OrderStatus`` order.
STATE_WORDS: dict[str, tuple[str, ...]] = {
    "FR": (
        "en attente de paiement",
        "payée",
        "autorisée",
        "carte enregistrée",
        "partiellement encaissée",
        "encaissée",
        "annulée",
        "partiellement remboursée",
        "remboursée",
    ),
    "EN": (
        "awaiting payment",
        "paid",
        "authorised",
        "card registered",
        "partially captured",
        "captured",
        "cancelled",
        "partially refunded",
        "refunded",
    ),
    "DE": (
        "wartet auf Zahlung",
        "bezahlt",
        "autorisiert",
        "Karte hinterlegt",
        "teilweise eingezogen",
        "eingezogen",
        "storniert",
        "teilweise erstattet",
        "erstattet",
    ),
    "IT": (
        "in attesa di pagamento",
        "pagato",
        "autorizzato",
        "carta registrata",
        "parzialmente incassato",
        "incassato",
        "annullato",
        "parzialmente rimborsato",
        "rimborsato",
    ),
    "ES": (
        "pendiente de pago",
        "pagado",
        "autorizado",
        "tarjeta registrada",
        "cobrado en parte",
        "cobrado",
        "anulado",
        "reembolsado en parte",
        "reembolsado",
    ),
}


def state_words(status: OrderStatus, language: str) -> str:
    """``payée``, ``awaiting payment``: an order's state in the words of a mail language."""
    return STATE_WORDS[language][list(OrderStatus).index(status)]


_TEXT = """{{ t.hello }}

{{ lead }}
{% if description %}
{{ t.bought }} {{ description }}
{% endif %}{% if authorisation %}{{ t.authorisation }} {{ authorisation }}
{% endif %}{% if schedule %}
{{ schedule_title }}
{% for line in schedule %}- {{ line }}
{% endfor %}{% endif %}
{{ closing }}
{{ signature_rule }}
{{ merchant }}
"""
_HTML = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif">
<p>{{ t.hello }}</p>
<p>{{ lead }}</p>
{% if description %}<p>{{ t.bought }} {{ description }}</p>{% endif %}
{% if authorisation %}<p>{{ t.authorisation }} <b>{{ authorisation }}</b></p>{% endif %}
{% if schedule %}<p>{{ schedule_title }}</p>
<ul>{% for line in schedule %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<p>{{ closing }}</p>
<p style="color: #666">{{ merchant }}</p>
</body></html>
"""


@cache
def _templates() -> tuple[Template, Template]:
    """The text and HTML templates, made at the first mail: every function imports this module (through the
    ``orders`` package), only the mail function renders, and Jinja2 is the heaviest import of the layer."""
    from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

    html = Environment(
        loader=DictLoader({"mail.html": _HTML}), autoescape=select_autoescape(default=True), undefined=StrictUndefined
    )
    # The text part is text/plain: HTML escaping would show "&amp;" to the reader (the HTML part is escaped above).
    text = Environment(
        loader=DictLoader({"mail.txt": _TEXT}),
        autoescape=False,  # noqa: S701  # nosec B701 - text/plain
        undefined=StrictUndefined,
    )
    return text.get_template("mail.txt"), html.get_template("mail.html")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SEPARATORS = {"EN": (",", "."), "FR": ("\u202f", ","), "DE": (".", ","), "IT": (".", ","), "ES": (".", ",")}


@dataclass(frozen=True)
class Mail:
    kind: str  # buyer | merchant
    to: str
    subject: str
    text: str
    html: str


def display_amount(money: Money, language: str) -> str:
    """``62,73 EUR`` (``62.73 EUR`` in English): what a person reads, never what goes on the wire."""
    group, point = _SEPARATORS.get(language, _SEPARATORS["EN"])
    places = Decimal(1).scaleb(-MINOR_UNITS.get(money.currency, 2))  # 1000 JPY has no cents to show
    whole, _, cents = f"{money.amount.quantize(places):,}".partition(".")
    return f"{whole.replace(',', group)}{point if cents else ''}{cents} {money.currency}"


# Month names by language, January first, one line each (the words a buyer reads).
MONTHS: dict[str, str] = {
    "FR": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "EN": "January February March April May June July August September October November December",
    "DE": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "IT": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "ES": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "NL": "januari februari maart april mei juni juli augustus september oktober november december",
    "PT": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "SV": "januari februari mars april maj juni juli augusti september oktober november december",
}


def display_day(day: date, language: str) -> str:
    """``27 décembre 2026`` (``27. Dezember 2026``, ``27 de diciembre de 2026``): a day as a person reads it."""
    month = MONTHS.get(language, MONTHS["EN"]).split()[day.month - 1]
    if language == "DE":
        return f"{day.day}. {month} {day.year}"
    if language in ("ES", "PT"):
        return f"{day.day} de {month} de {day.year}"
    return f"{day.day} {month} {day.year}"


def schedule_lines(order: Order, language: str, collected: str = "") -> list[str]:
    """A split payment's instalments, one line each: its day and amount (``collected`` after one the bank took)."""
    lines = []
    colon = " : " if language == "FR" else ": "  # French typography spaces the colon
    for number, instalment in enumerate(order.instalments, 1):
        line = f"{display_day(instalment.due, language)}{colon}{display_amount(instalment.amount, language)}"
        if collected and order.instalment_state(number) is InstalmentState.COLLECTED:
            line += f" ({collected})"
        lines.append(line)
    return lines


def _clean(value: Any) -> str:
    return _CONTROL.sub(" ", str(value))


def _render(
    kind: str, to: str, language: str, subject: str, lead: str, closing: str, schedule: list[str], **values: Any
) -> Mail:
    context = {
        "schedule_title": PHRASES[language]["schedule"].format(count=len(schedule)),
        "schedule": [_clean(line) for line in schedule],
        "t": PHRASES[language],
        "lang": language.lower(),
        "subject": subject,
        "lead": lead,
        "closing": closing,
        "signature_rule": "-- ",  # the mail signature separator, trailing space included
        **{name: _clean(value) for name, value in values.items()},
    }
    return Mail(
        kind=kind,
        to=to,
        subject=" ".join(_clean(subject).split()),
        text=_templates()[0].render(context),
        html=_templates()[1].render(context),
    )


def buyer_mail(order: Order, settings: MailSettings, event_type: str) -> Mail:
    """The buyer's payment confirmation, in the order's language (English when it is not one we write)."""
    language = order.language if order.language in MAIL_LANGUAGES else "EN"
    t = PHRASES[language]
    values = {"amount": display_amount(order.amount, language), "reference": order.reference}
    lead = t["authorized" if event_type == ORDER_AUTHORIZED else "paid"].format(**values)
    merchant = settings.merchant_name
    return _render(
        "buyer",
        order.email,
        language,
        t["subject_paid"].format(merchant=merchant),
        lead,
        t["thanks"],
        schedule_lines(order, language, t["collected"]),
        description=order.description,
        authorisation=order.authorisation_number,
        merchant=merchant,
    )


def _merchant_lead(order: Order, event_type: str, detail: Mapping[str, Any], t: Mapping[str, str]) -> tuple[str, str]:
    values = {"amount": detail["amount_text"], "reference": order.reference, "tpe": order.tpe}
    if event_type == PAYMENT_REFUSED:
        reason = (detail.get("attempt") or {}).get("reason", "")
        return t["m_subject_refused"].format(**values), t["m_refused"].format(reason=reason, **values)
    if event_type == INSTALMENT_REFUSED:
        instalment = detail.get("instalment") or {}
        number = int(instalment.get("number", 0))
        scheduled = order.instalments[number - 1] if 0 < number <= len(order.instalments) else None
        language = detail["language"]
        facts = {
            "number": number,
            "amount": display_amount(scheduled.amount, language) if scheduled else "",
            "due": display_day(scheduled.due, language) if scheduled else "",
            "captured": display_amount(Money(order.captured, order.currency), language),
            "total": detail["amount_text"],
            "reference": order.reference,
        }
        return t["m_subject_instalment"].format(**values), t["m_instalment"].format(**facts)
    if event_type == SECOND_PAYMENT_GIVEN_BACK:
        payment = detail.get("second_payment") or {}
        lead = t[f"m_given_back_{payment.get('give_back', 'refund_full')}"].format(
            bank_reference=payment.get("bank_reference", ""),
            second_authorisation=payment.get("authorisation_number", ""),
            **values,
        )
        return t["m_subject_given_back"].format(**values), lead
    if event_type == ORDER_NEEDS_REVIEW:
        review = detail.get("review") or {}
        reason = f"{review.get('reason', '')} {review.get('detail', '')}".strip()
        return t["m_subject_review"].format(**values), t["m_review"].format(reason=reason, **values)
    return t["m_subject_paid"].format(**values), t["m_paid"].format(**values)


def merchant_mail(order: Order, settings: MailSettings, event_type: str, detail: Mapping[str, Any]) -> Mail:
    language = settings.merchant_language
    t = PHRASES[language]
    subject, lead = _merchant_lead(
        order, event_type, {**detail, "amount_text": display_amount(order.amount, language), "language": language}, t
    )
    return _render(
        "merchant",
        settings.merchant,
        language,
        subject,
        lead,
        f"{t['m_status']} {state_words(order.status, language)}",
        schedule_lines(order, language, t["collected"]),
        description=order.description,
        authorisation=order.authorisation_number,
        merchant=f"merchant-kit, terminal {order.tpe}",
    )


def _said_by_its_own_event(detail: Mapping[str, Any]) -> bool:
    """A review whose news an event of the same write mails already (a second payment given back, a refused
    instalment)."""
    reason = (detail.get("review") or {}).get("reason")
    return reason in (ReviewReason.SECOND_PAYMENT_GIVEN_BACK.value, ReviewReason.INSTALMENT_REFUSED.value)


def needs_attention(detail: Mapping[str, Any]) -> bool:
    reason = str((detail.get("attempt") or {}).get("reason", "")).strip().lower()
    return reason in ATTENTION_REASONS


def mails_for(event_type: str, detail: Mapping[str, Any], order: Order, settings: MailSettings | None) -> list[Mail]:
    """The mails one event sends under its terminal's mail settings (none without them)."""
    if settings is None:
        return []
    mails = []
    if event_type in (ORDER_PAID, ORDER_AUTHORIZED) and settings.buyer and order.email:
        mails.append(buyer_mail(order, settings, event_type))
    wanted = (
        event_type in (ORDER_PAID, ORDER_AUTHORIZED, INSTALMENT_REFUSED, SECOND_PAYMENT_GIVEN_BACK)
        or (event_type == ORDER_NEEDS_REVIEW and not _said_by_its_own_event(detail))
        or (event_type == PAYMENT_REFUSED and needs_attention(detail))
    )
    if wanted and settings.merchant:
        mails.append(merchant_mail(order, settings, event_type, detail))
    return mails


def mime(mail: Mail, sender: str) -> EmailMessage:
    """The mail as sent: plain text with its HTML alternative, UTF-8, headers encoded by the standard library."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.text, cte="quoted-printable")  # 7-bit safe on every relay
    message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    return message


# SES's answers that refuse one mail for good: the recipient (an unverified one while the account is in SES's
# sandbox, one on the suppression list), an address SES cannot read. Unless they name the sender: an unverified
# sender is the terminal's configuration, the same for every mail, and repaired; its mails are retried (then
# kept on the dead-letter queue). Throttling, SES unavailable, a network error: retried too.
REJECTIONS = frozenset({"MessageRejected", "InvalidParameterValue"})


class MailSender:
    """SES. ``send`` raises ``MailRejectedError`` when SES refused the mail for good, ``MailUnavailableError``
    when it did not take it now."""

    client: LazyClient[Any] = LazyClient("ses")

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def send(self, mail: Mail, sender: str) -> str:
        try:
            answer = self.client.send_raw_email(
                Source=sender, Destinations=[mail.to], RawMessage={"Data": mime(mail, sender).as_bytes()}
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in REJECTIONS and sender not in str(error.get("Message", "")):
                raise MailRejectedError(f"SES rejected the mail: {exc}") from exc
            raise MailUnavailableError(f"SES SendEmail failed: {exc}") from exc
        except BotoCoreError as exc:
            raise MailUnavailableError(f"SES SendEmail failed: {exc}") from exc
        return str(answer["MessageId"])
