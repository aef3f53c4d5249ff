"""The demo shop's order page, back from the bank: the order as the merchant API gives it, a split payment with
each instalment's day, amount and state."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from devhttp import HttpRequest, Match
from shop.app import DemoShop
from shop.catalogue import CATALOGUE, ShopOrder
from shop.pages import order


def test_the_order_page_shows_a_split_payments_schedule() -> None:
    shop_order = ShopOrder("id1", [(CATALOGUE[0], 1)], Decimal("60.00"), "0900157", "ABC123")
    api_order = {
        "status": "paid",
        "attempts": [],
        "instalments": [
            {"number": 1, "due": "2026-11-27", "amount": "20.00", "state": "collected"},
            {"number": 2, "due": "2026-12-27", "amount": "20.00", "state": "refused"},
            {"number": 3, "due": "2027-01-27", "amount": "20.00", "state": "due"},
        ],
    }
    page = order(shop_order, api_order, "ok")
    assert "Paiement en 3 fois" in page
    table = page[page.index('id="schedule"') :]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    assert rows == [
        ("27/11/2026", "20,00 €", "payée"),
        ("27/12/2026", "20,00 €", "refusée par la banque"),
        ("27/01/2027", "20,00 €", "à venir"),
    ]
    assert 'id="schedule"' not in order(shop_order, {"status": "paid", "attempts": []}, "ok")


_NO_MATCH: Match[Any] = Match("page", "/", "POST", {})


class _Shop(DemoShop):
    """The shop over a merchant API that answers as the kit's would, keeping what it was sent."""

    def __init__(self) -> None:
        super().__init__("http://api.invalid")
        self.sent: list[dict[str, Any]] = []

    def api(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "POST":
            self.sent.append(payload or {})
            return {"reference": "3LR310AB3F", "checkout_url": "http://api.invalid/checkout/x"}
        return {
            "status": "awaiting_payment",
            "attempts": [{"return_code": "Annulation"}],
            "instalments": [{"number": 1, "due": "2026-11-27", "amount": "20.00", "state": "refused"}],
        }


def _buy_and_come_back(language: str) -> str:
    shop = _Shop()
    cookie = shop.add(HttpRequest("POST", "/panier/ajouter", body=f"cd={CATALOGUE[0].id}".encode()), _NO_MATCH)
    basket = dict(cookie.headers)["Set-Cookie"].split(";")[0]
    form = f"lgue={language}&tpe=0900157".encode()
    shop.order(HttpRequest("POST", "/commander", [("Cookie", basket)], form), _NO_MATCH)
    assert shop.sent[0]["language"] == language
    [shop_order] = shop.state.orders.values()
    answer = shop.show_order(
        HttpRequest("GET", f"/commande/{shop_order.id}?retour=err"), Match("page", "/", "GET", {"id": shop_order.id})
    )
    assert answer.status == 200
    return answer.body.decode()


def test_the_order_page_speaks_english_when_the_buyer_paid_in_english() -> None:
    page = _buy_and_come_back("EN")
    assert '<html lang="en">' in page
    english = ["Order 3LR310AB3F", "Awaiting payment", "1 payment attempt(s) refused by the bank"]
    english += ["Payment in 1 instalment(s)", "refused by the bank", "Pay this order", "Continue shopping"]
    for words in english:
        assert words in page, words
    for french in ("Commande", "Paiement", "refusée", "Continuer", "Disque", "Panier"):
        assert french not in page, french


def test_the_order_page_stays_french_for_a_french_buyer() -> None:
    page = _buy_and_come_back("FR")
    assert '<html lang="fr">' in page
    assert "Commande 3LR310AB3F" in page
    assert "En attente de paiement" in page
    assert "Continuer mes achats" in page
