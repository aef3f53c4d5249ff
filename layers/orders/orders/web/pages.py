"""The buyer-facing checkout page, in the order's language: the merchant by name, the order, and the sealed form.

The form submits itself as soon as the page is read, so the buyer's one press of "Paiement par carte bancaire"
on the merchant's site leads straight to the bank; its button stays for a browser that runs no script. The
script is fixed text, allowed by its hash in the page's Content-Security-Policy (``orders.web.http``).
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from html import escape

from sealing import PaymentForm

from ..model import Order, OrderStatus

PAY_BUTTON = {
    "FR": "Paiement par carte bancaire",
    "EN": "Pay by card",
    "DE": "Mit Karte bezahlen",
    "IT": "Paga con carta",
    "ES": "Pagar con tarjeta",
    "NL": "Betalen met kaart",
    "PT": "Pagar com cartão",
    "SV": "Betala med kort",
}
TEXTS: dict[str, dict[str, str]] = {
    "FR": {
        "title": "Votre commande",
        "reference": "Référence de la commande",
        "amount": "Montant",
        "redirect": "Vous êtes dirigé vers le serveur de paiement sécurisé de la banque.",
        "paid": "Cette commande a déjà été payée : aucun autre paiement n'est nécessaire.",
        "cancelled": "Cette commande a été annulée : elle ne peut plus être payée.",
        "back": "Revenir au site du commerçant",
        "not_found": "Commande introuvable",
    },
    "EN": {
        "title": "Your order",
        "reference": "Order reference",
        "amount": "Amount",
        "redirect": "You are being taken to the bank's secure payment server.",
        "paid": "This order has already been paid: no other payment is needed.",
        "cancelled": "This order was cancelled: it can no longer be paid.",
        "back": "Back to the merchant's site",
        "not_found": "Order not found",
    },
    "DE": {
        "title": "Ihre Bestellung",
        "reference": "Bestellnummer",
        "amount": "Betrag",
        "redirect": "Sie werden zum sicheren Zahlungsserver der Bank weitergeleitet.",
        "paid": "Diese Bestellung wurde bereits bezahlt: Eine weitere Zahlung ist nicht nötig.",
        "cancelled": "Diese Bestellung wurde storniert und kann nicht mehr bezahlt werden.",
        "back": "Zurück zur Website des Händlers",
        "not_found": "Bestellung nicht gefunden",
    },
    "IT": {
        "title": "Il suo ordine",
        "reference": "Riferimento dell'ordine",
        "amount": "Importo",
        "redirect": "Sta per essere indirizzato al server di pagamento sicuro della banca.",
        "paid": "Questo ordine è già stato pagato: non serve un altro pagamento.",
        "cancelled": "Questo ordine è stato annullato: non può più essere pagato.",
        "back": "Torna al sito dell'esercente",
        "not_found": "Ordine non trovato",
    },
    "ES": {
        "title": "Su pedido",
        "reference": "Referencia del pedido",
        "amount": "Importe",
        "redirect": "Le llevamos al servidor de pago seguro del banco.",
        "paid": "Este pedido ya ha sido pagado: no hace falta ningún otro pago.",
        "cancelled": "Este pedido ha sido cancelado: ya no se puede pagar.",
        "back": "Volver al sitio del comercio",
        "not_found": "Pedido no encontrado",
    },
    "NL": {
        "title": "Uw bestelling",
        "reference": "Bestelreferentie",
        "amount": "Bedrag",
        "redirect": "U wordt naar de beveiligde betaalserver van de bank geleid.",
        "paid": "Deze bestelling is al betaald: een andere betaling is niet nodig.",
        "cancelled": "Deze bestelling is geannuleerd: ze kan niet meer worden betaald.",
        "back": "Terug naar de site van de handelaar",
        "not_found": "Bestelling niet gevonden",
    },
    "PT": {
        "title": "A sua encomenda",
        "reference": "Referência da encomenda",
        "amount": "Montante",
        "redirect": "Está a ser encaminhado para o servidor de pagamento seguro do banco.",
        "paid": "Esta encomenda já foi paga: não é necessário outro pagamento.",
        "cancelled": "Esta encomenda foi cancelada: já não pode ser paga.",
        "back": "Voltar ao site do comerciante",
        "not_found": "Encomenda não encontrada",
    },
    "SV": {
        "title": "Din beställning",
        "reference": "Beställningsreferens",
        "amount": "Belopp",
        "redirect": "Du skickas vidare till bankens säkra betalningsserver.",
        "paid": "Denna beställning är redan betald: ingen annan betalning behövs.",
        "cancelled": "Denna beställning har annullerats: den kan inte längre betalas.",
        "back": "Tillbaka till handlarens webbplats",
        "not_found": "Beställningen hittades inte",
    },
}
LANGUAGES = tuple(TEXTS)
# Submits the sealed form at once: the buyer already chose to pay on the merchant's site.
SUBMIT_SCRIPT = "document.getElementById('checkout').submit();"
SUBMIT_SCRIPT_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SUBMIT_SCRIPT.encode()).digest()).decode() + "'"
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "h1{margin:0 0 .2rem}.lead{color:#666;margin:0 0 1rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#666}dd{margin:0;font-weight:bold}"
    "button{font-size:1.1rem;padding:.7rem 1.4rem;border:0;border-radius:.4rem;background:#0a5;color:#fff;"
    "cursor:pointer}.note{color:#666;font-size:.9rem}"
)


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["EN"])


def display_amount(amount: Decimal, currency: str) -> str:
    """As the bank's pages write it (docs/protocol.md, The bank's pages): ``1 EUR``, ``14.50 EUR``."""
    return f"{amount:.2f} {currency}" if amount % 1 else f"{amount:.0f} {currency}"


def _page(language: str, title: str, content: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(language.lower())}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{content}</body></html>\n"
    )


def checkout_page(order: Order, form: PaymentForm, merchant_name: str) -> str:
    language = order.language
    t = _texts(language)
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in form.fields
    )
    amount = display_amount(order.amount.amount, order.currency)
    content = (
        f'<h1 id="merchant">{escape(merchant_name)}</h1><p class="lead">{escape(t["title"])}</p>'
        f'<dl><dt>{escape(t["reference"])}</dt><dd id="reference">{escape(order.reference)}</dd>'
        f'<dt>{escape(t["amount"])}</dt><dd id="amount">{escape(amount)}</dd></dl>'
        f'<form method="post" action="{escape(form.action)}" accept-charset="UTF-8" id="checkout">{hidden}'
        f'<button type="submit">{escape(PAY_BUTTON.get(language, PAY_BUTTON["EN"]))}</button></form>'
        f'<p class="note" id="redirecting">{escape(t["redirect"])}</p><script>{SUBMIT_SCRIPT}</script>'
    )
    return _page(language, f"{merchant_name} · {t['title']}", content)


def not_payable_page(order: Order) -> str:
    """An order that takes no more payment: why, in words, and the way back to the merchant's site."""
    language = order.language
    t = _texts(language)
    cancelled = order.status is OrderStatus.CANCELLED
    message = t["cancelled" if cancelled else "paid"]
    back = (order.return_err_url if cancelled else order.return_ok_url) or order.return_ok_url
    link = f'<p><a id="back" href="{escape(back)}">{escape(t["back"])}</a></p>' if back else ""
    content = f'<h1>{escape(t["title"])} {escape(order.reference)}</h1><p id="message">{escape(message)}</p>{link}'
    return _page(language, message, content)


def not_found_page() -> str:
    return _page("fr", "Commande introuvable", "<p>Commande introuvable / Order not found.</p>")
