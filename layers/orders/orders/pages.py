"""The buyer-facing checkout page: the sealed form and its one button, in the order's language."""

from __future__ import annotations

from html import escape

from sealing import PaymentForm

from .model import Order, OrderStatus

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
_TITLE = {"FR": "Votre commande", "EN": "Your order", "DE": "Ihre Bestellung", "IT": "Il tuo ordine"}
_DONE = {
    "FR": "Cette commande n'attend plus de paiement.",
    "EN": "This order is no longer awaiting payment.",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#666}"
    "button{font-size:1.1rem;padding:.7rem 1.4rem;border:0;border-radius:.4rem;background:#0a5;color:#fff;"
    "cursor:pointer}"
)


def _page(language: str, title: str, content: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(language.lower())}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{content}</body></html>\n"
    )


def checkout_page(order: Order, form: PaymentForm, merchant_name: str) -> str:
    language = order.language
    title = _TITLE.get(language, _TITLE["EN"])
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in form.fields
    )
    content = (
        f"<h1>{escape(title)}</h1><dl><dt>{escape(merchant_name)}</dt><dd>{escape(order.tpe)}</dd>"
        f"<dt>Référence</dt><dd>{escape(order.reference)}</dd>"
        f"<dt>Montant</dt><dd>{escape(str(order.amount))}</dd></dl>"
        f'<form method="post" action="{escape(form.action)}" accept-charset="UTF-8">{hidden}'
        f'<button type="submit">{escape(PAY_BUTTON.get(language, PAY_BUTTON["EN"]))}</button></form>'
    )
    return _page(language, title, content)


def not_payable_page(order: Order) -> str:
    language = order.language
    message = _DONE.get(language, _DONE["EN"])
    status = "" if order.status is OrderStatus.AWAITING_PAYMENT else f" ({order.status.value})"
    return _page(language, message, f"<p>{escape(message)}{escape(status)}</p>")


def not_found_page() -> str:
    return _page("fr", "Commande introuvable", "<p>Commande introuvable / Order not found.</p>")
