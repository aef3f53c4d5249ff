"""The buyer's pages of the sandbox bank (docs/protocol.md, The bank's pages): payment form, refusals, receipt,
errors.

The merchant's name, TPE, reference and logo stay on screen, under the terminal's bank branding (CyberMUT
P@iement, P@iement CIC, P@iement OBC, Monetico Paiement). Every word is in the page's language: FR EN DE IT ES
from ``lgue`` (English for the protocol's other codes); a page with no payment behind it (an unknown session, a
request the bank cannot read) speaks the browser's language when it is one of the five.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from sealing import Bank

from .cards import AMEX, Card
from .payments import MAX_ATTEMPTS, Attempt, Payment, Status
from .terminals import BankTerminal
from .texts import REFUSAL_REASONS, TEXTS

PAGE_LANGUAGES = tuple(TEXTS)
BRANDS = {
    Bank.CREDIT_MUTUEL: "CyberMUT P@iement",
    Bank.CIC: "P@iement CIC",
    Bank.OBC: "P@iement OBC",
    Bank.MONETICO: "Monetico Paiement",
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:Verdana,Arial,sans-serif;font-size:14px;color:#1d2a3a;background:#eef1f5}
header{background:#123b6d;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;
align-items:center}
header.creditmutuel{background:#0b4d8a}header.obc{background:#1f4d3a}header.monetico{background:#3b2a6d}
header .brand{font-weight:bold;font-size:1.1rem;letter-spacing:.02em}
header .brand em{color:#ffcf3f;font-style:normal}
.sandbox{background:#ffcf3f;color:#123b6d;font-weight:bold;padding:.15rem .6rem;border-radius:.3rem;
font-size:.8rem}
main{max-width:58rem;margin:1.5rem auto;display:flex;gap:1.2rem;padding:0 1rem}
aside{width:14rem;background:#fff;border:1px solid #c9d3df;border-radius:.4rem;padding:1rem;text-align:center;
align-self:flex-start}
aside img{max-width:120px;max-height:120px}aside .name{font-weight:bold;font-size:1.05rem;margin:.6rem 0}
aside dl{text-align:left;margin:.8rem 0 0}aside dt{color:#5b6b7f;font-size:.8rem}
aside dd{margin:0 0 .6rem;font-weight:bold}
section{flex:1;background:#fff;border:1px solid #c9d3df;border-radius:.4rem;padding:1.2rem 1.5rem}
h1{font-size:1.25rem;margin:0 0 1rem;color:#123b6d}.amount{font-size:1.2rem;margin-bottom:1.2rem}
.amount strong{font-size:1.4rem}label{display:block;margin:.8rem 0 .3rem;font-weight:bold}
.hint{color:#5b6b7f;font-size:.8rem;margin:.3rem 0 0}
input[type=text],input[type=password],select{font-size:1rem;padding:.45rem;border:1px solid #8a9bb0;
border-radius:.3rem}
#card_number{width:16rem;letter-spacing:.08em}#cvv{width:4.5rem}#expiry_month,#expiry_year{width:5rem}
button{margin-top:1.2rem;font-size:1rem;padding:.55rem 1.6rem;border:0;border-radius:.3rem;background:#1f7a3a;
color:#fff;cursor:pointer}button:disabled{background:#8a9bb0;cursor:wait}
.note{color:#5b6b7f;font-size:.85rem;margin-top:1.2rem;font-style:italic}
.cancel{display:inline-block;margin-top:1rem}
.step{color:#123b6d;font-weight:bold;margin:1rem 0 .4rem}.step.done{color:#5b6b7f;font-weight:normal}
.error{background:#fdecea;border:1px solid #e0a39d;color:#8c1d13;padding:.6rem .8rem;border-radius:.3rem;
margin-bottom:1rem}
.ok{background:#e8f5ec;border:1px solid #9fd1ad;color:#135c2a;padding:.6rem .8rem;border-radius:.3rem;
margin-bottom:1rem}
table.receipt td{padding:.25rem 1rem .25rem 0}table.receipt td:first-child{color:#5b6b7f}
a{color:#1452a0}code{background:#eef1f5;padding:0 .2rem}
"""
# "Demande d'autorisation carte en cours", as the bank's receipt has it: shown while the bank asks for the
# authorisation, and the button disabled so that one click is one attempt.
AUTHORISING_SCRIPT = (
    "document.getElementById('card-form').addEventListener('submit',function(){"
    "document.getElementById('validate').disabled=true;"
    "document.getElementById('authorising').hidden=false;});"
)


def texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["EN"])


def browser_language(accept_language: str) -> str:
    """The first of the pages' languages the browser asks for (``Accept-Language``), else French."""
    for part in accept_language.split(","):
        code = part.split(";", 1)[0].strip()[:2].upper()
        if code in TEXTS:
            return code
    return "FR"


def money(amount: Decimal, currency: str) -> str:
    """An amount as the bank's pages write it: ``1 EUR``, ``14.50 EUR``, ``464.53 EUR``."""
    return f"{amount:.2f} {currency}" if amount % 1 else f"{amount:.0f} {currency}"


def brand_html(bank: Bank) -> str:
    return escape(BRANDS[bank]).replace("@", "<em>@</em>")


def layout(title: str, body: str, language: str = "FR", aside: str = "", bank: Bank = Bank.CIC) -> str:
    """A page under the bank's branding; ``language`` one of the pages' (``FR``...), English for any other."""
    t = texts(language)
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(language.lower())}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f'<style>{STYLE}</style></head><body><header class="{bank.value}">'
        f'<span class="brand" id="brand">{brand_html(bank)}</span>'
        f'<span class="sandbox" id="badge">{escape(t["badge"])}</span></header>'
        f"<main>{aside}<section>{body}</section></main></body></html>\n"
    )


def merchant_panel(terminal: BankTerminal, payment: Payment, t: dict[str, str]) -> str:
    """The merchant's information, always on screen: logo, name, merchant ID, transaction reference."""
    logo = (
        f'<img src="{escape(terminal.logo_url)}" alt="{escape(terminal.merchant_name)}" width="120">'
        if terminal.logo_url
        else ""
    )
    return (
        f'<aside>{logo}<div class="name" id="merchant">{escape(terminal.merchant_name)}</div><dl>'
        f'<dt>{escape(t["merchant_id"])}</dt><dd id="tpe">{escape(terminal.tpe)}</dd>'
        f'<dt>{escape(t["reference"])}</dt><dd id="reference">{escape(payment.reference)}</dd></dl></aside>'
    )


def _amount_line(payment: Payment, t: dict[str, str]) -> str:
    shown = money(payment.amount.amount, payment.currency)
    label = escape(t["amount"] + t["colon"])
    return f'<div class="amount">{label} <strong id="amount">{escape(shown)}</strong></div>'


def _page(terminal: BankTerminal, payment: Payment, title: str, body: str, language: str = "") -> str:
    language = language or payment.language
    return layout(title, body, language, merchant_panel(terminal, payment, texts(language)), terminal.bank)


def _back_link(terminal: BankTerminal, language: str, url: str) -> str:
    """The link back to the merchant, its text the merchant's own when the terminal sets one."""
    text = terminal.link_text(language) or texts(language)["back"].format(merchant=terminal.merchant_name)
    return f'<p><a id="back" href="{escape(url)}">{escape(text)}</a></p>'


def _card_form(terminal: BankTerminal, payment: Payment, action: str, t: dict[str, str]) -> str:
    blank = '<option value="" selected></option>'
    months = blank + "".join(f'<option value="{m:02d}">{m:02d}</option>' for m in range(1, 13))
    year = payment.created_at.year
    years = blank + "".join(f'<option value="{y}">{y}</option>' for y in range(year, year + 11))
    amex = f'<p class="hint">{escape(t["cid_hint"])}</p>' if terminal.american_express else ""
    return (
        f'<form method="post" action="{escape(action)}" autocomplete="off" id="card-form">'
        f'<input type="hidden" name="session" value="{escape(payment.session)}">'
        f'<label for="card_number">{escape(t["card_number"])}</label>'
        '<input type="text" id="card_number" name="card_number" inputmode="numeric" maxlength="23" required>'
        f'<label for="expiry_month">{escape(t["expiry"])}</label>'
        f'<select id="expiry_month" name="expiry_month" aria-label="{escape(t["month"])}" required>{months}</select>'
        f' / <select id="expiry_year" name="expiry_year" aria-label="{escape(t["year"])}" required>{years}</select>'
        f'<label for="cvv">{escape(t["cvv"])}</label>'
        '<input type="password" id="cvv" name="cvv" inputmode="numeric" maxlength="4">'
        f'<p class="hint">{escape(t["cvv_none"])}</p><p class="hint">{escape(t["cvv_some"])}</p>{amex}'
        f'<div><button type="submit" id="validate">{escape(t["validate"])}</button></div>'
        f'<p class="step" id="authorising" hidden>{escape(t["authorising"])}</p></form>'
        f"<script>{AUTHORISING_SCRIPT}</script>"
    )


def saved_card_form(payment: Payment, card: Card, action: str, t: dict[str, str]) -> str:
    """Pay with the card on file under the request's alias: only its cryptogram is typed (when the card has one,
    the bank asks it again)."""
    expiry = f"{card.expiry_month:02d}/{card.expiry_year}"
    length = 4 if card.brand == AMEX else 3
    required = " required" if card.cvv_entered else ""
    label = escape(t["saved_card"] + t["colon"])
    return (
        f'<form method="post" action="{escape(action)}" autocomplete="off" id="saved_card_form">'
        f'<input type="hidden" name="session" value="{escape(payment.session)}">'
        '<input type="hidden" name="saved_card" value="1">'
        f'<p>{label} <strong id="saved_card">{escape(card.masked)}</strong> ({escape(expiry)})</p>'
        f'<label for="saved_cvv">{escape(t["cid_hint"] if length == 4 else t["cvv"])}</label>'
        f'<input type="password" id="saved_cvv" name="cvv" inputmode="numeric" maxlength="{length}"{required}>'
        f'<div><button type="submit" id="pay_saved">{escape(t["pay_saved"])}</button></div></form>'
        f'<p class="note">{escape(t["other_card"])}</p>'
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
    hidden field; above it, the card on file when the request's alias has one."""
    t = texts(payment.language)
    notice = f'<div class="{"error" if error else "ok"}" id="message">{escape(message)}</div>' if message else ""
    on_file = saved_card_form(payment, saved_card, action, t) if saved_card else ""
    brand = BRANDS[terminal.bank]
    body = (
        f"<h1>{escape(t['title'])}</h1>{_amount_line(payment, t)}{notice}{on_file}"
        f"{_card_form(terminal, payment, action, t)}"
        f'<p class="note" id="secure">{escape(t["secure"].format(brand=brand))}</p>'
        f'<a class="cancel" id="cancel" href="{escape(cancel_url)}">'
        f"{escape(t['cancel'].format(merchant=terminal.merchant_name))}</a>"
    )
    return _page(terminal, payment, t["title"], body)


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
    table = "".join(f'<tr><td>{escape(k)}</td><td id="receipt-{i}">{escape(v)}</td></tr>' for k, v, i in rows)
    body = (
        f"<h1>{escape(t['receipt'])}</h1>"
        f'<p class="step done" id="authorising">{escape(t["authorising"])}</p>'
        f'<div class="ok" id="message">{escape(t["accepted"].format(merchant=terminal.merchant_name))}</div>'
        f'<table class="receipt">{table}</table>{_back_link(terminal, payment.language, payment.return_ok_url)}'
    )
    return _page(terminal, payment, t["receipt"], body)


def final_page(terminal: BankTerminal, payment: Payment, message_key: str) -> str:
    """The end without a payment: attempts exhausted, session expired, or abandoned; back to ``url_retour_err``."""
    t = texts(payment.language)
    body = (
        f"<h1>{escape(t['title'])}</h1>{_amount_line(payment, t)}"
        f'<div class="error" id="message">{escape(t[message_key])}</div>'
        f"{_back_link(terminal, payment.language, payment.return_err_url)}"
    )
    return _page(terminal, payment, t["title"], body)


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
    t = texts(language)
    back = _back_link(terminal, language, back_url) if back_url else ""
    body = f'<h1>{escape(t["title"])}</h1><div class="error" id="message">{escape(t[message_key])}</div>{back}'
    return _page(terminal, payment, t["title"], body, language)


def request_error_page(field: str, reason: str, language: str, bank: Bank = Bank.CIC) -> str:
    """The bank's kind of error page for a request it cannot take (bad seal, bad field): nothing is recorded.
    The field and the bank's reason (for the merchant's developer, in French and English) are shown."""
    t = texts(language)
    body = (
        f"<h1>{escape(t['request_refused'])}</h1>"
        f'<div class="error" id="message">{escape(t["request_refused_text"])}</div>'
        f'<table class="receipt"><tr><td>{escape(t["field"])}</td><td id="field"><code>{escape(field)}</code></td></tr>'
        f'<tr><td>{escape(t["reason"])}</td><td id="reason">{escape(reason)}</td></tr></table>'
        f'<p class="note">{escape(t["test_details"])}</p>'
    )
    return layout(t["request_refused"], body, language, bank=bank)


def simple_page(language: str, title_key: str, text_key: str) -> str:
    t = texts(language)
    return layout(t[title_key], f'<h1>{escape(t[title_key])}</h1><p id="message">{escape(t[text_key])}</p>', language)
