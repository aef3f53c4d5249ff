"""The buyer's pages of the sandbox bank (docs/protocol.md, The bank's pages): payment form, refusals, receipt,
errors.

The merchant's name, TPE, reference and logo stay on screen, under the terminal's bank branding (CyberMUT
P@iement, P@iement CIC, P@iement OBC, Monetico Paiement). Every word is in the page's language: FR EN DE IT ES
from ``lgue`` (English for the protocol's other codes); a page with no payment behind it (an unknown session, a
request the bank cannot read) speaks the browser's language when it is one of the five.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sealing import Bank

from .cards import AMEX, Card
from .payment_record import MAX_ATTEMPTS, Attempt, Payment, Status
from .templating import money, render
from .terminals import BankTerminal
from .texts import REFUSAL_REASONS, TEXTS

PAGE_LANGUAGES = tuple(TEXTS)
BRANDS = {
    Bank.CREDIT_MUTUEL: "CyberMUT P@iement",
    Bank.CIC: "P@iement CIC",
    Bank.OBC: "P@iement OBC",
    Bank.MONETICO: "Monetico Paiement",
}


def texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["EN"])


def browser_language(accept_language: str) -> str:
    """The first of the pages' languages the browser asks for (``Accept-Language``), else French."""
    for part in accept_language.split(","):
        code = part.split(";", 1)[0].strip()[:2].upper()
        if code in TEXTS:
            return code
    return "FR"


def chrome(language: str, bank: Bank = Bank.CIC) -> dict[str, Any]:
    """What ``layout.html`` needs: the page's language (``FR``...; English words for any other) and branding."""
    return {"language": language, "t": texts(language), "bank": bank, "brand": BRANDS[bank]}


def _payment_page(
    template: str, terminal: BankTerminal, payment: Payment, title_key: str, language: str = "", **context: Any
) -> str:
    language = language or payment.language
    t = texts(language)
    return render(
        template,
        **chrome(language, terminal.bank),
        title=t[title_key],
        terminal=terminal,
        payment=payment,
        amount=money(payment.amount.amount, payment.currency),
        **context,
    )


def payment_page(
    terminal: BankTerminal,
    payment: Payment,
    *,
    action: str,
    cancel_url: str,
    message: str = "",
    error: bool = True,
    saved_card: Card | None = None,
) -> str:
    """The card form (docs/protocol.md, The bank's pages), posted back to ``paiement.cgi`` with the session in a
    hidden field; above it, the card on file when the request's alias has one (only its cryptogram is typed, when
    the card has one: the bank asks it again)."""
    return _payment_page(
        "payment/card.html",
        terminal,
        payment,
        "title",
        action=action,
        cancel_url=cancel_url,
        message=message,
        error=error,
        saved_card=saved_card,
        saved_expiry=f"{saved_card.expiry_month:02d}/{saved_card.expiry_year}" if saved_card else "",
        saved_cvv_length=4 if saved_card and saved_card.brand == AMEX else 3,
        first_year=payment.created_at.year,
    )


def refusal_message(payment: Payment, attempt: Attempt) -> str:
    t = texts(payment.language)
    reason = REFUSAL_REASONS.get(payment.language, REFUSAL_REASONS["EN"]).get(attempt.refusal, attempt.refusal)
    return t["refused"].format(reason=reason, n=len(payment.attempts) + 1, max=MAX_ATTEMPTS)


def local_time(moment: datetime, terminal: BankTerminal) -> datetime:
    return moment.astimezone(ZoneInfo(terminal.timezone))


def receipt_page(terminal: BankTerminal, payment: Payment) -> str:
    """The ticket after an accepted card (docs/protocol.md, The bank's pages): amount, currency, date and time,
    authorisation number, masked card, with the link back to ``url_retour_ok``."""
    t = texts(payment.language)
    when = local_time(payment.authorised_at or payment.created_at, terminal)
    rows = [
        (t["amount"], money(payment.amount.amount, payment.currency), "amount"),
        (t["date"], f"{when:%Y-%m-%d %H:%M:%S} ({when.tzname()})", "date"),
        (t["card"], payment.card, "card"),
        (t["authorisation"], payment.authorisation_number, "authorisation"),
        (t["terminal"], terminal.tpe, "terminal"),
    ]
    return _payment_page("payment/receipt.html", terminal, payment, "receipt", rows=rows)


def final_page(terminal: BankTerminal, payment: Payment, message_key: str) -> str:
    """The end without a payment: attempts exhausted, session expired, or abandoned; back to ``url_retour_err``."""
    return _payment_page("payment/final.html", terminal, payment, "title", message_key=message_key)


def done_page(terminal: BankTerminal, payment: Payment) -> str:
    """A session that is over, asked again (a reload, a double click): what became of it."""
    if payment.status.accepted:
        return receipt_page(terminal, payment)
    key = {Status.REFUSED: "too_many", Status.ABANDONED: "abandoned"}.get(payment.status, "session_expired")
    return final_page(terminal, payment, key)


def closed_reference_page(
    terminal: BankTerminal, payment: Payment, language: str, message_key: str, back_url: str
) -> str:
    """A buyer brought back an order the bank takes no more (paid, cancelled, attempts used up): why, in the
    buyer's words and language, and the way back to the merchant when there is one. The order is not shown
    again: the form posted may not be the one first paid."""
    return _payment_page(
        "payment/closed.html", terminal, payment, "title", language, message_key=message_key, back_url=back_url
    )


def request_error_page(field: str, reason: str, language: str, bank: Bank = Bank.CIC) -> str:
    """The bank's kind of error page for a request it cannot take (bad seal, bad field): nothing is recorded.
    The field and the bank's reason (for the merchant's developer, in French and English) are shown."""
    title = texts(language)["request_refused"]
    return render("payment/request_error.html", **chrome(language, bank), title=title, field=field, reason=reason)


def simple_page(language: str, title_key: str, text_key: str) -> str:
    t = texts(language)
    return render("payment/simple.html", **chrome(language), title=t[title_key], text=t[text_key])
