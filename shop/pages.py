"""The demo shop's pages: catalogue, basket and order form, the order's status."""

from __future__ import annotations

import base64
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from .catalogue import BY_ID, CATALOGUE, Cd

if TYPE_CHECKING:
    from .app import ShopOrder

LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">
<rect width="120" height="120" rx="14" fill="#7a1f3d"/>
<circle cx="60" cy="52" r="34" fill="#e9e4da"/><circle cx="60" cy="52" r="26" fill="#c9c2b4"/>
<circle cx="60" cy="52" r="9" fill="#7a1f3d"/><circle cx="60" cy="52" r="3" fill="#e9e4da"/>
<text x="60" y="108" font-family="Georgia,serif" font-size="15" fill="#fff" text-anchor="middle">boutique du CD</text>
</svg>"""

STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:Georgia,'Times New Roman',serif;color:#2a2320;background:#f6f1e8}
header{background:#7a1f3d;color:#fff;padding:.7rem 2rem;display:flex;align-items:center;gap:1rem}
header img{width:48px;height:48px}header h1{margin:0;font-size:1.6rem;flex:1}header a{color:#fff}
main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:1rem}
.cd{background:#fff;border:1px solid #e0d6c4;border-radius:.5rem;padding:1rem;text-align:center}
.sleeve{height:9rem;border-radius:.3rem;color:#fff;display:flex;align-items:center;justify-content:center;
font-size:1.05rem;padding:.6rem;margin-bottom:.6rem}.artist{color:#6b5d52}
.price{font-weight:bold;margin:.4rem 0}
button{font-family:inherit;font-size:1rem;padding:.5rem 1.1rem;border:0;border-radius:.35rem;
background:#7a1f3d;color:#fff;cursor:pointer}
button.secondary{background:#8a7f73}table{border-collapse:collapse;width:100%;background:#fff}
td,th{padding:.5rem;border-bottom:1px solid #e0d6c4;text-align:left}
fieldset{border:1px solid #e0d6c4;background:#fff;
margin:1rem 0;border-radius:.4rem}label{display:block;margin:.4rem 0}
input,select{font-family:inherit;font-size:1rem;padding:.3rem}
.status{font-size:1.3rem;padding:.8rem 1rem;border-radius:.4rem;background:#fff;border:1px solid #e0d6c4}
.status.good{background:#e6f3e8;border-color:#9cc9a4}.status.wait{background:#fff6dd;border-color:#e4cf8e}
.status.bad{background:#fbe9e7;border-color:#e2a59c}.muted{color:#6b5d52}
"""


def _page(title: str, content: str, basket_count: int | None = None, *, home: str = "", logo: str = "/logo.svg") -> str:
    """A page of the shop; ``home`` and ``logo`` for a page served elsewhere in the shop's look."""
    basket = f'<a href="{home}/panier" id="basket-link">Panier ({basket_count})</a>' if basket_count is not None else ""
    return (
        f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{STYLE}</style></head><body><header><img src="{escape(logo)}" alt="">'
        f'<h1><a href="{escape(home)}/" style="text-decoration:none">La boutique du CD</a></h1>'
        f"{basket}</header><main>{content}</main></body></html>\n"
    )


def euros(amount: Decimal) -> str:
    return f"{amount:.2f} €".replace(".", ",")


def _count(basket: dict[str, int]) -> int:
    return sum(basket.values())


def home(basket: dict[str, int]) -> str:
    cards = "".join(
        f'<div class="cd"><div class="sleeve" style="background:{cd.colour}">{escape(cd.title)}</div>'
        f'<div class="artist">{escape(cd.artist)} · {cd.year}</div><div class="price">{euros(cd.price)}</div>'
        f'<form method="post" action="/panier/ajouter"><input type="hidden" name="cd" value="{escape(cd.id)}">'
        f'<button type="submit" id="add-{escape(cd.id)}">Ajouter au panier</button></form></div>'
        for cd in CATALOGUE
    )
    return _page("La boutique du CD", f'<div class="grid">{cards}</div>', _count(basket))


def _lines(basket: dict[str, int]) -> list[tuple[Cd, int]]:
    return [(BY_ID[cd_id], qty) for cd_id, qty in basket.items() if cd_id in BY_ID and qty > 0]


def basket(basket: dict[str, int], terminals: tuple[tuple[str, str], ...], languages: tuple[str, ...]) -> str:
    lines = _lines(basket)
    if not lines:
        return _page("Votre panier", '<p id="empty">Votre panier est vide. <a href="/">Voir les disques</a></p>', 0)
    total = sum((cd.price * qty for cd, qty in lines), Decimal(0))
    rows = "".join(
        f"<tr><td>{escape(cd.title)} — {escape(cd.artist)}</td><td>{qty}</td><td>{euros(cd.price * qty)}</td></tr>"
        for cd, qty in lines
    )
    modes = "".join(
        f'<label><input type="radio" name="tpe" value="{tpe}" id="tpe-{tpe}"{" checked" if i == 0 else ""}> '
        f"{escape(label)} <span class='muted'>(TPE {tpe})</span></label>"
        for i, (tpe, label) in enumerate(terminals)
    )
    language_options = "".join(f'<option value="{code}">{code}</option>' for code in languages)
    content = (
        "<h2>Votre panier</h2>"
        f"<table><tr><th>Disque</th><th>Quantité</th><th>Prix</th></tr>{rows}"
        f'<tr><th colspan="2">Total TTC</th><th id="total">{euros(total)}</th></tr></table>'
        '<form method="post" action="/commander">'
        "<fieldset><legend>Vos coordonnées</legend>"
        '<label>E-mail <input name="email" id="email" value="acheteur@example.com" size="30"></label>'
        '<label>Adresse <input name="address" value="1 rue de la Paix" size="30"></label>'
        '<label>Ville <input name="city" value="Paris"> Code postal <input name="postal_code" value="75002" size="6">'
        ' Pays <input name="country" value="FR" size="3"></label>'
        f'<label>Langue de la page de paiement <select name="lgue" id="lgue">{language_options}</select></label>'
        "</fieldset>"
        f"<fieldset><legend>Mode de paiement (un TPE par mode)</legend>{modes}</fieldset>"
        '<button type="submit" id="pay">Paiement par carte bancaire</button></form>'
        '<form method="post" action="/panier/vider" style="margin-top:.6rem">'
        '<button class="secondary" type="submit">Vider le panier</button></form>'
    )
    return _page("Votre panier", content, _count(basket))


STATUS = {
    "awaiting_payment": ("En attente de paiement", "wait"),
    "paid": ("Payée", "good"),
    "authorized": ("Paiement autorisé — en attente de validation (paiement différé)", "good"),
    "card_registered": ("Carte enregistrée — en attente de validation (paiement partiel)", "good"),
    "partially_captured": ("Partiellement encaissée", "good"),
    "captured": ("Encaissée", "good"),
    "cancelled": ("Annulée", "bad"),
    "partially_refunded": ("Partiellement remboursée", "good"),
    "refunded": ("Remboursée", "bad"),
}


def order(shop_order: ShopOrder, api_order: dict[str, Any], outcome: str) -> str:
    status = str(api_order.get("status", ""))
    label, tone = STATUS.get(status, (status, "wait"))
    rows = "".join(
        f"<tr><td>{escape(cd.title)} — {escape(cd.artist)}</td><td>{qty}</td><td>{euros(cd.price * qty)}</td></tr>"
        for cd, qty in shop_order.lines
    )
    refused = [a for a in api_order.get("attempts", []) if a.get("return_code") == "Annulation"]
    notes = []
    if outcome == "err" and status == "awaiting_payment":
        notes.append("Le paiement n'a pas abouti : votre commande est conservée, vous pouvez la payer à nouveau.")
    if refused:
        notes.append(f"{len(refused)} tentative(s) de paiement refusée(s) par la banque.")
    again = (
        f'<p><a href="{escape(shop_order.checkout_url)}" id="pay-again">Payer cette commande</a></p>'
        if status == "awaiting_payment"
        else ""
    )
    content = (
        f'<h2>Commande <span id="reference">{escape(shop_order.reference)}</span></h2>'
        f'<div class="status {tone}" id="status" data-status="{escape(status)}">{escape(label)}</div>'
        + "".join(f'<p class="muted">{escape(note)}</p>' for note in notes)
        + f"<table><tr><th>Disque</th><th>Quantité</th><th>Prix</th></tr>{rows}"
        f'<tr><th colspan="2">Total TTC</th><th>{euros(shop_order.total)}</th></tr></table>'
        f'<p class="muted">TPE {escape(shop_order.tpe)} · statut lu auprès de l\'API marchande '
        f"(<code>GET /orders/{escape(shop_order.reference)}</code>)</p>{again}"
        '<p><a href="/">Continuer mes achats</a></p>'
    )
    return _page(f"Commande {shop_order.reference}", content)


def problem(message: str) -> str:
    return _page("La boutique du CD", f'<p class="status bad" id="problem">{escape(message)}</p>')


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
    back = f'<p><a href="{escape(shop_url)}/" id="shop-link">Continuer mes achats</a></p>' if shop_url else ""
    content = (
        f'<div class="status {tone}" id="status" data-outcome="{escape(outcome)}">{escape(title)}</div>'
        f'<p class="muted" id="message">{escape(text)}</p>{back}'
    )
    return _page(title, content, home=shop_url, logo=logo)
