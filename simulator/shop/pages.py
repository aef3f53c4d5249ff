"""The demo shop's pages: catalogue, basket and order form, the order's status."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .catalogue import BY_ID, CATALOGUE, Cd, ShopOrder

LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">
<rect width="120" height="120" rx="14" fill="#7a1f3d"/>
<circle cx="60" cy="52" r="34" fill="#e9e4da"/><circle cx="60" cy="52" r="26" fill="#c9c2b4"/>
<circle cx="60" cy="52" r="9" fill="#7a1f3d"/><circle cx="60" cy="52" r="3" fill="#e9e4da"/>
<text x="60" y="108" font-family="Georgia,serif" font-size="15" fill="#fff" text-anchor="middle">boutique du CD</text>
</svg>"""

TEMPLATES = Path(__file__).resolve().parent / "templates"


class _JoinedLines(FileSystemLoader):
    """A template is written one element a line for reading; its lines are joined when it is loaded (whitespace
    between tags is not content). The ``.css`` is kept as written."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".html"):
            source = "".join(line.strip() for line in source.splitlines())
        return source, filename, uptodate


# Autoescaped: every value a template writes is escaped unless the template says otherwise.
ENVIRONMENT = Environment(loader=_JoinedLines(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def _page(template: str, title: str, basket_count: int | None = None, **context: Any) -> str:
    """A page of the shop; ``home`` and ``logo`` for a page served elsewhere in the shop's look."""
    context = {"home": "", "logo": "/logo.svg", "lang": "fr", **context}
    return ENVIRONMENT.get_template(template).render(title=title, basket_count=basket_count, **context)


def euros(amount: Decimal) -> str:
    return f"{amount:.2f} €".replace(".", ",")


ENVIRONMENT.filters["euros"] = euros


def _count(basket: dict[str, int]) -> int:
    return sum(basket.values())


def home(basket: dict[str, int]) -> str:
    return _page("home.html", "La boutique du CD", _count(basket), catalogue=CATALOGUE)


def _lines(basket: dict[str, int]) -> list[tuple[Cd, int]]:
    return [(BY_ID[cd_id], qty) for cd_id, qty in basket.items() if cd_id in BY_ID and qty > 0]


def basket(basket: dict[str, int], terminals: tuple[tuple[str, str], ...], languages: tuple[str, ...]) -> str:
    lines = _lines(basket)
    total = sum((cd.price * qty for cd, qty in lines), Decimal(0))
    return _page(
        "basket.html",
        "Votre panier",
        _count(basket),
        lines=lines,
        total=total,
        terminals=terminals,
        languages=languages,
    )


# The order page, back from the bank, in the language the buyer chose for the payment page: French, or English
# for every other (the shop is written in those two).
WORDS: dict[str, dict[str, Any]] = {
    "FR": {
        "lang": "fr",
        "order": "Commande",
        "status": {
            "awaiting_payment": ("En attente de paiement", "wait"),
            "paid": ("Payée", "good"),
            "authorized": ("Paiement autorisé — en attente de validation (paiement différé)", "good"),
            "card_registered": ("Carte enregistrée — en attente de validation (paiement partiel)", "good"),
            "partially_captured": ("Partiellement encaissée", "good"),
            "captured": ("Encaissée", "good"),
            "cancelled": ("Annulée", "bad"),
            "partially_refunded": ("Partiellement remboursée", "good"),
            "refunded": ("Remboursée", "bad"),
        },
        "not_paid": "Le paiement n'a pas abouti : votre commande est conservée, vous pouvez la payer à nouveau.",
        "refused": "{count} tentative(s) de paiement refusée(s) par la banque.",
        "instalments": {"collected": "payée", "refused": "refusée par la banque", "due": "à venir"},
        "schedule": "Paiement en {count} fois",
        "cd": "Disque",
        "quantity": "Quantité",
        "price": "Prix",
        "total": "Total TTC",
        "due": "Échéance",
        "amount": "Montant",
        "state": "État",
        "read_from": "statut lu auprès de l'API marchande",
        "pay_again": "Payer cette commande",
        "continue": "Continuer mes achats",
    },
    "EN": {
        "lang": "en",
        "order": "Order",
        "status": {
            "awaiting_payment": ("Awaiting payment", "wait"),
            "paid": ("Paid", "good"),
            "authorized": ("Payment authorised — awaiting validation (deferred payment)", "good"),
            "card_registered": ("Card registered — awaiting validation (partial payment)", "good"),
            "partially_captured": ("Partly charged", "good"),
            "captured": ("Charged", "good"),
            "cancelled": ("Cancelled", "bad"),
            "partially_refunded": ("Partly refunded", "good"),
            "refunded": ("Refunded", "bad"),
        },
        "not_paid": "The payment did not go through: your order is kept, and you can pay it again.",
        "refused": "{count} payment attempt(s) refused by the bank.",
        "instalments": {"collected": "paid", "refused": "refused by the bank", "due": "to come"},
        "schedule": "Payment in {count} instalment(s)",
        "cd": "Record",
        "quantity": "Quantity",
        "price": "Price",
        "total": "Total incl. VAT",
        "due": "Due",
        "amount": "Amount",
        "state": "State",
        "read_from": "status read from the merchant API",
        "pay_again": "Pay this order",
        "continue": "Continue shopping",
    },
}


def words(language: str) -> dict[str, Any]:
    return WORDS["FR" if language == "FR" else "EN"]


def order(shop_order: ShopOrder, api_order: dict[str, Any], outcome: str) -> str:
    w = words(shop_order.language)
    status = str(api_order.get("status", ""))
    label, tone = w["status"].get(status, (status, "wait"))
    refused = [a for a in api_order.get("attempts", []) if a.get("return_code") == "Annulation"]
    notes = []
    if outcome == "err" and status == "awaiting_payment":
        notes.append(w["not_paid"])
    if refused:
        notes.append(w["refused"].format(count=len(refused)))
    return _page(
        "order.html",
        f"{w['order']} {shop_order.reference}",
        order=shop_order,
        status=status,
        label=label,
        tone=tone,
        notes=notes,
        schedule=schedule(api_order, w),
        w=w,
        lang=w["lang"],
    )


def schedule(api_order: dict[str, Any], w: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A split payment's instalments as the merchant API lists them: the day, the amount, where it stands."""
    return [
        (
            date.fromisoformat(str(i["due"])).strftime("%d/%m/%Y"),
            euros(Decimal(str(i["amount"]))),
            w["instalments"].get(str(i.get("state", "")), str(i.get("state", ""))),
        )
        for i in api_order.get("instalments") or []
    ]


def problem(message: str) -> str:
    return _page("problem.html", "La boutique du CD", message=message)


RETURNS = {
    "ok": ("Paiement accepté", "good", "La banque vous a renvoyé ici après un paiement accepté. La confirmation "
           "qu'elle envoie au serveur du commerçant fait foi."),
    "err": ("Paiement non abouti", "bad", "La banque vous a renvoyé ici sans paiement : la commande est conservée "
            "et peut encore être payée."),
}  # fmt: skip


def bank_return(outcome: str, shop_url: str = "") -> str:
    """The local terminals' own return pages (``url_retour_ok`` / ``url_retour_err`` of an order made without
    the shop), in the shop's look; served by the local stack, so the logo travels inside the page."""
    title, tone, text = RETURNS.get(
        outcome, ("Retour de la banque", "wait", f"La banque vous a renvoyé ici ({outcome}).")
    )
    logo = "data:image/svg+xml;base64," + base64.b64encode(LOGO).decode("ascii")
    return _page(
        "bank_return.html", title, home=shop_url, logo=logo, tone=tone, outcome=outcome, text=text, shop_url=shop_url
    )
