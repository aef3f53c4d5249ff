"""The buyer's pages of the sandbox bank (docs/protocol.md, The bank's pages): payment form, refusals, receipt, errors.

The merchant's name, TPE, reference and logo stay on screen; five languages (FR EN DE IT ES) from ``lgue``,
English for the protocol's other codes.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from .cards import Card
from .ledger import MAX_ATTEMPTS, Attempt, Payment, Status
from .terminals import BankTerminal

TEXTS: dict[str, dict[str, str]] = {
    "FR": {
        "title": "Paiement sécurisé par carte bancaire",
        "amount": "Montant de la transaction",
        "card_number": "Numéro de carte bancaire",
        "expiry": "Date d'expiration (Mois / Année)",
        "cvv": "3 derniers chiffres du numéro imprimé au dos (Cryptogramme Visuel)",
        "validate": "Valider",
        "cancel": "Annuler et retourner à la société {merchant}",
        "merchant_id": "Identifiant Commerçant",
        "reference": "Référence Transaction",
        "secure": "Votre transaction est sécurisée par le serveur de paiement de test. "
        "Votre paiement sera réalisé en toute sécurité.",
        "refused": "Paiement refusé ({reason}). Vous pouvez réessayer : tentative {n} sur {max}.",
        "too_many": "Votre paiement a été refusé. Le nombre maximum de tentatives est atteint.",
        "accepted": "Votre carte bancaire a été acceptée. {merchant} en a été informé.",
        "date": "Date de la transaction",
        "card": "Numéro de la carte",
        "authorisation": "Numéro d'autorisation",
        "terminal": "Numéro de terminal",
        "back": "Cliquez ici pour revenir à la société {merchant}",
        "invalid_number": "Le numéro de carte est invalide.",
        "invalid_expiry": "La date d'expiration est invalide.",
        "expired": "La carte est expirée.",
        "invalid_cvv": "Le cryptogramme visuel doit comporter 3 chiffres.",
        "session_expired": "Le délai de paiement est dépassé.",
        "abandoned": "Le paiement a été abandonné.",
        "already_paid": "Cette commande a déjà été payée. Aucun nouveau paiement n'est possible.",
        "order_cancelled": "Cette commande a été annulée par le commerçant : elle ne peut plus être payée.",
        "no_attempts_left": "Le nombre maximum de tentatives de paiement pour cette commande est atteint.",
        "receipt": "Ticket de paiement",
        "month": "Mois",
        "year": "Année",
        "saved_card": "Carte enregistrée",
        "pay_saved": "Payer avec cette carte",
        "other_card": "Ou payer avec une autre carte :",
        "no_saved_card": "Aucune carte n'est enregistrée pour vous : saisissez votre carte.",
    },
    "EN": {
        "title": "Secure card payment",
        "amount": "Transaction amount",
        "card_number": "Card number",
        "expiry": "Expiry date (Month / Year)",
        "cvv": "Last 3 digits printed on the back (card verification value)",
        "validate": "Confirm",
        "cancel": "Cancel and return to {merchant}",
        "merchant_id": "Merchant ID",
        "reference": "Transaction reference",
        "secure": "Your transaction is secured by the test payment server. Your payment is safe.",
        "refused": "Payment refused ({reason}). You may try again: attempt {n} of {max}.",
        "too_many": "Your payment was refused. The maximum number of attempts has been reached.",
        "accepted": "Your card has been accepted. {merchant} has been informed.",
        "date": "Transaction date",
        "card": "Card number",
        "authorisation": "Authorisation number",
        "terminal": "Terminal number",
        "back": "Click here to return to {merchant}",
        "invalid_number": "The card number is not valid.",
        "invalid_expiry": "The expiry date is not valid.",
        "expired": "The card has expired.",
        "invalid_cvv": "The card verification value must be 3 digits.",
        "session_expired": "The time allowed for the payment is over.",
        "abandoned": "The payment was abandoned.",
        "already_paid": "This order has already been paid. No further payment is possible.",
        "order_cancelled": "This order was cancelled by the merchant: it can no longer be paid.",
        "no_attempts_left": "The maximum number of payment attempts for this order has been reached.",
        "receipt": "Payment receipt",
        "month": "Month",
        "year": "Year",
        "saved_card": "Saved card",
        "pay_saved": "Pay with this card",
        "other_card": "Or pay with another card:",
        "no_saved_card": "No card is saved for you: enter your card.",
    },
    "DE": {
        "title": "Sichere Kartenzahlung",
        "amount": "Betrag der Transaktion",
        "card_number": "Kartennummer",
        "expiry": "Ablaufdatum (Monat / Jahr)",
        "cvv": "Die letzten 3 Ziffern auf der Rückseite (Kartenprüfnummer)",
        "validate": "Bestätigen",
        "cancel": "Abbrechen und zurück zu {merchant}",
        "merchant_id": "Händlerkennung",
        "reference": "Transaktionsreferenz",
        "secure": "Ihre Transaktion wird vom Test-Zahlungsserver gesichert. Ihre Zahlung ist sicher.",
        "refused": "Zahlung abgelehnt ({reason}). Sie können es erneut versuchen: Versuch {n} von {max}.",
        "too_many": "Ihre Zahlung wurde abgelehnt. Die maximale Anzahl an Versuchen ist erreicht.",
        "accepted": "Ihre Karte wurde akzeptiert. {merchant} wurde benachrichtigt.",
        "date": "Datum der Transaktion",
        "card": "Kartennummer",
        "authorisation": "Autorisierungsnummer",
        "terminal": "Terminalnummer",
        "back": "Hier klicken, um zu {merchant} zurückzukehren",
        "invalid_number": "Die Kartennummer ist ungültig.",
        "invalid_expiry": "Das Ablaufdatum ist ungültig.",
        "expired": "Die Karte ist abgelaufen.",
        "invalid_cvv": "Die Kartenprüfnummer muss 3 Ziffern haben.",
        "session_expired": "Die Zeit für die Zahlung ist abgelaufen.",
        "abandoned": "Die Zahlung wurde abgebrochen.",
        "already_paid": "Diese Bestellung wurde bereits bezahlt. Eine weitere Zahlung ist nicht möglich.",
        "order_cancelled": "Diese Bestellung wurde vom Händler storniert und kann nicht mehr bezahlt werden.",
        "no_attempts_left": "Die maximale Anzahl an Zahlungsversuchen für diese Bestellung ist erreicht.",
        "receipt": "Zahlungsbeleg",
        "month": "Monat",
        "year": "Jahr",
        "saved_card": "Gespeicherte Karte",
        "pay_saved": "Mit dieser Karte bezahlen",
        "other_card": "Oder mit einer anderen Karte bezahlen:",
        "no_saved_card": "Für Sie ist keine Karte gespeichert: Geben Sie Ihre Karte ein.",
    },
    "IT": {
        "title": "Pagamento sicuro con carta",
        "amount": "Importo della transazione",
        "card_number": "Numero della carta",
        "expiry": "Data di scadenza (Mese / Anno)",
        "cvv": "Ultime 3 cifre stampate sul retro (codice di sicurezza)",
        "validate": "Conferma",
        "cancel": "Annulla e torna a {merchant}",
        "merchant_id": "Identificativo esercente",
        "reference": "Riferimento transazione",
        "secure": "La transazione è protetta dal server di pagamento di prova. Il pagamento è sicuro.",
        "refused": "Pagamento rifiutato ({reason}). Può riprovare: tentativo {n} di {max}.",
        "too_many": "Il pagamento è stato rifiutato. È stato raggiunto il numero massimo di tentativi.",
        "accepted": "La carta è stata accettata. {merchant} è stato informato.",
        "date": "Data della transazione",
        "card": "Numero della carta",
        "authorisation": "Numero di autorizzazione",
        "terminal": "Numero del terminale",
        "back": "Clicchi qui per tornare a {merchant}",
        "invalid_number": "Il numero della carta non è valido.",
        "invalid_expiry": "La data di scadenza non è valida.",
        "expired": "La carta è scaduta.",
        "invalid_cvv": "Il codice di sicurezza deve avere 3 cifre.",
        "session_expired": "Il tempo per il pagamento è scaduto.",
        "abandoned": "Il pagamento è stato annullato.",
        "already_paid": "Questo ordine è già stato pagato. Non è possibile un nuovo pagamento.",
        "order_cancelled": "Questo ordine è stato annullato dall'esercente: non può più essere pagato.",
        "no_attempts_left": "È stato raggiunto il numero massimo di tentativi di pagamento per questo ordine.",
        "receipt": "Ricevuta di pagamento",
        "month": "Mese",
        "year": "Anno",
        "saved_card": "Carta registrata",
        "pay_saved": "Paga con questa carta",
        "other_card": "Oppure paghi con un'altra carta:",
        "no_saved_card": "Non è registrata alcuna carta per Lei: inserisca la Sua carta.",
    },
    "ES": {
        "title": "Pago seguro con tarjeta",
        "amount": "Importe de la transacción",
        "card_number": "Número de tarjeta",
        "expiry": "Fecha de caducidad (Mes / Año)",
        "cvv": "Últimos 3 dígitos impresos en el reverso (código de seguridad)",
        "validate": "Confirmar",
        "cancel": "Cancelar y volver a {merchant}",
        "merchant_id": "Identificador del comercio",
        "reference": "Referencia de la transacción",
        "secure": "Su transacción está protegida por el servidor de pago de prueba. Su pago es seguro.",
        "refused": "Pago rechazado ({reason}). Puede intentarlo de nuevo: intento {n} de {max}.",
        "too_many": "Su pago ha sido rechazado. Se ha alcanzado el número máximo de intentos.",
        "accepted": "Su tarjeta ha sido aceptada. {merchant} ha sido informado.",
        "date": "Fecha de la transacción",
        "card": "Número de la tarjeta",
        "authorisation": "Número de autorización",
        "terminal": "Número de terminal",
        "back": "Pulse aquí para volver a {merchant}",
        "invalid_number": "El número de tarjeta no es válido.",
        "invalid_expiry": "La fecha de caducidad no es válida.",
        "expired": "La tarjeta ha caducado.",
        "invalid_cvv": "El código de seguridad debe tener 3 dígitos.",
        "session_expired": "El tiempo para el pago ha terminado.",
        "abandoned": "El pago ha sido abandonado.",
        "already_paid": "Este pedido ya ha sido pagado. No es posible realizar un nuevo pago.",
        "order_cancelled": "Este pedido ha sido cancelado por el comercio: ya no se puede pagar.",
        "no_attempts_left": "Se ha alcanzado el número máximo de intentos de pago para este pedido.",
        "receipt": "Recibo de pago",
        "month": "Mes",
        "year": "Año",
        "saved_card": "Tarjeta registrada",
        "pay_saved": "Pagar con esta tarjeta",
        "other_card": "O pague con otra tarjeta:",
        "no_saved_card": "No hay ninguna tarjeta registrada para usted: introduzca su tarjeta.",
    },
}
PAGE_LANGUAGES = tuple(TEXTS)

STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:Verdana,Arial,sans-serif;font-size:14px;color:#1d2a3a;background:#eef1f5}
header{background:#123b6d;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;
align-items:center}
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
input[type=text],input[type=password],select{font-size:1rem;padding:.45rem;border:1px solid #8a9bb0;
border-radius:.3rem}
#card_number{width:16rem;letter-spacing:.08em}#cvv{width:4.5rem}#expiry_month,#expiry_year{width:4.5rem}
button{margin-top:1.2rem;font-size:1rem;padding:.55rem 1.6rem;border:0;border-radius:.3rem;background:#1f7a3a;
color:#fff;cursor:pointer}
.note{color:#5b6b7f;font-size:.85rem;margin-top:1.2rem;font-style:italic}
.cancel{display:inline-block;margin-top:1rem}
.error{background:#fdecea;border:1px solid #e0a39d;color:#8c1d13;padding:.6rem .8rem;border-radius:.3rem;
margin-bottom:1rem}
.ok{background:#e8f5ec;border:1px solid #9fd1ad;color:#135c2a;padding:.6rem .8rem;border-radius:.3rem;
margin-bottom:1rem}
table.receipt td{padding:.25rem 1rem .25rem 0}table.receipt td:first-child{color:#5b6b7f}
a{color:#1452a0}code{background:#eef1f5;padding:0 .2rem}
"""


def texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["EN"])


def money(amount: object, currency: str) -> str:
    """``62.73 EUR`` as the bank's pages write it."""
    return f"{amount} {currency}"


def layout(title: str, body: str, language: str = "fr", aside: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(language.lower())}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        '<header><span class="brand">P<em>@</em>iement sécurisé par carte bancaire</span>'
        '<span class="sandbox">SANDBOX · serveur de test</span></header>'
        f"<main>{aside}<section>{body}</section></main></body></html>\n"
    )


def merchant_panel(terminal: BankTerminal, payment: Payment, t: dict[str, str]) -> str:
    logo = (
        f'<img src="{escape(terminal.logo_url)}" alt="{escape(terminal.merchant_name)}" width="120">'
        if terminal.logo_url
        else ""
    )
    return (
        f'<aside>{logo}<div class="name">{escape(terminal.merchant_name)}</div><dl>'
        f'<dt>{escape(t["merchant_id"])}</dt><dd id="tpe">{escape(terminal.tpe)}</dd>'
        f'<dt>{escape(t["reference"])}</dt><dd id="reference">{escape(payment.reference)}</dd></dl></aside>'
    )


def _amount_line(payment: Payment, t: dict[str, str]) -> str:
    shown = money(payment.amount.amount, payment.currency)
    return f'<div class="amount">{escape(t["amount"])} : <strong id="amount">{escape(shown)}</strong></div>'


def saved_card_form(payment: Payment, card: Card, action: str, t: dict[str, str]) -> str:
    """Pay with the card on file under the request's alias: only its CVV is typed, as the bank asks it."""
    expiry = f"{card.expiry_month:02d}/{card.expiry_year}"
    return (
        f'<form method="post" action="{escape(action)}" autocomplete="off" id="saved_card_form">'
        f'<input type="hidden" name="session" value="{escape(payment.session)}">'
        '<input type="hidden" name="saved_card" value="1">'
        f'<p>{escape(t["saved_card"])} : <strong id="saved_card">{escape(card.masked)}</strong> ({escape(expiry)})</p>'
        f'<label for="saved_cvv">{escape(t["cvv"])}</label>'
        '<input type="password" id="saved_cvv" name="cvv" inputmode="numeric" maxlength="3" required>'
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
    months = "".join(f'<option value="{m:02d}">{m:02d}</option>' for m in range(1, 13))
    year = payment.created_at.year
    years = "".join(f'<option value="{y}">{y}</option>' for y in range(year, year + 11))
    body = (
        f"<h1>{escape(t['title'])}</h1>{_amount_line(payment, t)}{notice}{on_file}"
        f'<form method="post" action="{escape(action)}" autocomplete="off">'
        f'<input type="hidden" name="session" value="{escape(payment.session)}">'
        f'<label for="card_number">{escape(t["card_number"])}</label>'
        '<input type="text" id="card_number" name="card_number" inputmode="numeric" maxlength="23" required>'
        f'<label for="expiry_month">{escape(t["expiry"])}</label>'
        f'<select id="expiry_month" name="expiry_month" aria-label="{escape(t["month"])}">{months}</select> / '
        f'<select id="expiry_year" name="expiry_year" aria-label="{escape(t["year"])}">{years}</select>'
        f'<label for="cvv">{escape(t["cvv"])}</label>'
        '<input type="password" id="cvv" name="cvv" inputmode="numeric" maxlength="3" required>'
        f'<div><button type="submit" id="validate">{escape(t["validate"])}</button></div></form>'
        f'<p class="note">{escape(t["secure"])}</p>'
        f'<a class="cancel" id="cancel" href="{escape(cancel_url)}">'
        f"{escape(t['cancel'].format(merchant=terminal.merchant_name))}</a>"
    )
    return layout(t["title"], body, payment.language, merchant_panel(terminal, payment, t))


def refusal_message(payment: Payment, attempt: Attempt) -> str:
    t = texts(payment.language)
    return t["refused"].format(reason=attempt.refusal, n=len(payment.attempts) + 1, max=MAX_ATTEMPTS)


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
        f'<div class="ok" id="message">{escape(t["accepted"].format(merchant=terminal.merchant_name))}</div>'
        f'<table class="receipt">{table}</table>'
        f'<p><a id="back" href="{escape(payment.return_ok_url)}">'
        f"{escape(t['back'].format(merchant=terminal.merchant_name))}</a></p>"
    )
    return layout(t["receipt"], body, payment.language, merchant_panel(terminal, payment, t))


def final_page(terminal: BankTerminal, payment: Payment, message_key: str) -> str:
    """The end without a payment: attempts exhausted, session expired, or abandoned; back to ``url_retour_err``."""
    t = texts(payment.language)
    body = (
        f"<h1>{escape(t['title'])}</h1>{_amount_line(payment, t)}"
        f'<div class="error" id="message">{escape(t[message_key])}</div>'
        f'<p><a id="back" href="{escape(payment.return_err_url)}">'
        f"{escape(t['back'].format(merchant=terminal.merchant_name))}</a></p>"
    )
    return layout(t["title"], body, payment.language, merchant_panel(terminal, payment, t))


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
    back = (
        f'<p><a id="back" href="{escape(back_url)}">{escape(t["back"].format(merchant=terminal.merchant_name))}</a></p>'
        if back_url
        else ""
    )
    body = f'<h1>{escape(t["title"])}</h1><div class="error" id="message">{escape(t[message_key])}</div>{back}'
    return layout(t["title"], body, language, merchant_panel(terminal, payment, t))


def request_error_page(field: str, reason: str) -> str:
    """The bank's kind of error page for a request it cannot take (bad seal, bad field): nothing is recorded."""
    body = (
        "<h1>Demande de paiement refusée / Payment request refused</h1>"
        '<div class="error" id="message">Le serveur de paiement ne peut pas traiter cette demande : '
        "elle est mal formée ou son sceau est invalide. / The payment server cannot process this request.</div>"
        f'<table class="receipt"><tr><td>Champ / field</td><td id="field"><code>{escape(field)}</code></td></tr>'
        f'<tr><td>Motif / reason</td><td id="reason">{escape(reason)}</td></tr></table>'
        '<p class="note">Serveur de test : le détail est affiché pour aider l\'intégration. '
        "Test server: details are shown to help the integration.</p>"
    )
    return layout("Erreur / Error", body)


def simple_page(title: str, text: str, status_id: str = "message") -> str:
    return layout(title, f'<h1>{escape(title)}</h1><p id="{escape(status_id)}">{escape(text)}</p>')
