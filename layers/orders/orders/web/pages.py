"""The buyer-facing checkout page, in the order's language: the merchant by name, the order, and the sealed form.

The form submits itself as soon as the page is read, so the buyer's one press of "Paiement par carte bancaire"
on the merchant's site leads straight to the bank; its button stays for a browser that runs no script. The
script is fixed text, allowed by its hash in the page's Content-Security-Policy (``orders.web.http``).

The pages are Jinja2 templates shipped in the layer (``orders/web/templates``), autoescaped: every value a
template writes is escaped unless the template says otherwise (the script alone, fixed text).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sealing import PaymentForm

from ..mail import schedule_lines
from ..model import Order, OrderStatus

if TYPE_CHECKING:
    from jinja2 import Environment

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
        "unpayable": "Cette commande ne peut plus être payée en ligne : "
        "le nombre de tentatives de paiement est épuisé. "
        "Contactez le commerçant en lui donnant la référence de la commande.",
        "back": "Revenir au site du commerçant",
        "not_found": "Commande introuvable",
        "schedule": "Paiement en {count} fois",
    },
    "EN": {
        "title": "Your order",
        "reference": "Order reference",
        "amount": "Amount",
        "redirect": "You are being taken to the bank's secure payment server.",
        "paid": "This order has already been paid: no other payment is needed.",
        "cancelled": "This order was cancelled: it can no longer be paid.",
        "unpayable": "This order can no longer be paid online: "
        "its payment attempts are used up. Please contact the merchant, giving the order reference.",
        "back": "Back to the merchant's site",
        "not_found": "Order not found",
        "schedule": "Payment in {count} instalments",
    },
    "DE": {
        "title": "Ihre Bestellung",
        "reference": "Bestellnummer",
        "amount": "Betrag",
        "redirect": "Sie werden zum sicheren Zahlungsserver der Bank weitergeleitet.",
        "paid": "Diese Bestellung wurde bereits bezahlt: Eine weitere Zahlung ist nicht nötig.",
        "cancelled": "Diese Bestellung wurde storniert und kann nicht mehr bezahlt werden.",
        "unpayable": "Diese Bestellung kann nicht mehr online bezahlt werden: "
        "Die Zahlungsversuche sind aufgebraucht. Bitte wenden Sie sich unter Angabe der Bestellnummer an den Händler.",
        "back": "Zurück zur Website des Händlers",
        "not_found": "Bestellung nicht gefunden",
        "schedule": "Zahlung in {count} Raten",
    },
    "IT": {
        "title": "Il suo ordine",
        "reference": "Riferimento dell'ordine",
        "amount": "Importo",
        "redirect": "Sta per essere indirizzato al server di pagamento sicuro della banca.",
        "paid": "Questo ordine è già stato pagato: non serve un altro pagamento.",
        "cancelled": "Questo ordine è stato annullato: non può più essere pagato.",
        "unpayable": "Questo ordine non può più essere pagato online: "
        "i tentativi di pagamento sono esauriti. Contatti l'esercente indicando il riferimento dell'ordine.",
        "back": "Torna al sito dell'esercente",
        "not_found": "Ordine non trovato",
        "schedule": "Pagamento in {count} rate",
    },
    "ES": {
        "title": "Su pedido",
        "reference": "Referencia del pedido",
        "amount": "Importe",
        "redirect": "Le llevamos al servidor de pago seguro del banco.",
        "paid": "Este pedido ya ha sido pagado: no hace falta ningún otro pago.",
        "cancelled": "Este pedido ha sido cancelado: ya no se puede pagar.",
        "unpayable": "Este pedido ya no se puede pagar en línea: "
        "se han agotado los intentos de pago. Póngase en contacto con el comercio indicando la referencia del pedido.",
        "back": "Volver al sitio del comercio",
        "not_found": "Pedido no encontrado",
        "schedule": "Pago en {count} plazos",
    },
    "NL": {
        "title": "Uw bestelling",
        "reference": "Bestelreferentie",
        "amount": "Bedrag",
        "redirect": "U wordt naar de beveiligde betaalserver van de bank geleid.",
        "paid": "Deze bestelling is al betaald: een andere betaling is niet nodig.",
        "cancelled": "Deze bestelling is geannuleerd: ze kan niet meer worden betaald.",
        "unpayable": "Deze bestelling kan niet meer online worden betaald: "
        "de betaalpogingen zijn opgebruikt. Neem contact op met de handelaar en vermeld de bestelreferentie.",
        "back": "Terug naar de site van de handelaar",
        "not_found": "Bestelling niet gevonden",
        "schedule": "Betaling in {count} termijnen",
    },
    "PT": {
        "title": "A sua encomenda",
        "reference": "Referência da encomenda",
        "amount": "Montante",
        "redirect": "Está a ser encaminhado para o servidor de pagamento seguro do banco.",
        "paid": "Esta encomenda já foi paga: não é necessário outro pagamento.",
        "cancelled": "Esta encomenda foi cancelada: já não pode ser paga.",
        "unpayable": "Esta encomenda já não pode ser paga online: "
        "as tentativas de pagamento esgotaram-se. Contacte o comerciante indicando a referência da encomenda.",
        "back": "Voltar ao site do comerciante",
        "not_found": "Encomenda não encontrada",
        "schedule": "Pagamento em {count} prestações",
    },
    "SV": {
        "title": "Din beställning",
        "reference": "Beställningsreferens",
        "amount": "Belopp",
        "redirect": "Du skickas vidare till bankens säkra betalningsserver.",
        "paid": "Denna beställning är redan betald: ingen annan betalning behövs.",
        "cancelled": "Denna beställning har annullerats: den kan inte längre betalas.",
        "unpayable": "Denna beställning kan inte längre betalas online: "
        "betalningsförsöken är förbrukade. Kontakta handlaren och ange beställningsreferensen.",
        "back": "Tillbaka till handlarens webbplats",
        "not_found": "Beställningen hittades inte",
        "schedule": "Betalning i {count} delbetalningar",
    },
}
LANGUAGES = tuple(TEXTS)
# Submits the sealed form at once: the buyer already chose to pay on the merchant's site.
SUBMIT_SCRIPT = "document.getElementById('checkout').submit();"
SUBMIT_SCRIPT_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SUBMIT_SCRIPT.encode()).digest()).decode() + "'"


@cache
def _environment() -> Environment:
    """The pages' templates, set up at the first page: every function imports this module (the API's responses
    name its script's hash), only the checkout renders, and Jinja2 is the heaviest import of the layer. Built
    once per instance; a template is compiled at its first use, then kept."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    class JoinedLines(PackageLoader):
        """A template is written one element a line for reading; its lines are joined, their indentation
        dropped, when it is loaded (whitespace between tags is not content), so the page is served compact."""

        def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool] | None]:
            source, filename, uptodate = super().get_source(environment, template)
            return "".join(line.strip() for line in source.splitlines()), filename, uptodate

    return Environment(
        loader=JoinedLines("orders.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the page, never writes ""
        auto_reload=False,  # a layer's files never change under a running function
    )


def _render(template: str, language: str, **context: Any) -> str:
    return _environment().get_template(template).render(language=language, **context)


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["EN"])


def display_amount(amount: Decimal, currency: str) -> str:
    """As the bank's pages write it (docs/protocol.md, The bank's pages): ``1 EUR``, ``14.50 EUR``."""
    return f"{amount:.2f} {currency}" if amount % 1 else f"{amount:.0f} {currency}"


def checkout_page(order: Order, form: PaymentForm, merchant_name: str) -> str:
    language = order.language
    t = _texts(language)
    return _render(
        "checkout.html",
        language,
        t=t,
        merchant_name=merchant_name,
        reference=order.reference,
        amount=display_amount(order.amount.amount, order.currency),
        schedule_title=t["schedule"].format(count=len(order.instalments)),
        schedule=schedule_lines(order, language),
        form=form,
        pay=PAY_BUTTON.get(language, PAY_BUTTON["EN"]),
        submit_script=SUBMIT_SCRIPT,
    )


def not_payable_page(order: Order) -> str:
    """An order that takes no more payment: why, in words, and the way back to the merchant's site. One still
    awaiting payment has used every payment session it may open (``orders.sessions``): nothing was paid, and the
    merchant is the one to help."""
    t = _texts(order.language)
    paid = order.status not in (OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT)
    back = (order.return_ok_url if paid else order.return_err_url) or order.return_ok_url
    message = t["paid" if paid else "cancelled" if order.status is OrderStatus.CANCELLED else "unpayable"]
    return _render("not_payable.html", order.language, t=t, reference=order.reference, message=message, back=back)


def not_found_page() -> str:
    return _render("not_found.html", "FR")
