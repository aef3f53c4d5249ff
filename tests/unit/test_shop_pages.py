"""The demo shop's order page, back from the bank: the order as the merchant API gives it, a split payment with
each instalment's day, amount and state."""

from __future__ import annotations

import re
from decimal import Decimal

from shop.app import ShopOrder
from shop.catalogue import CATALOGUE
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
