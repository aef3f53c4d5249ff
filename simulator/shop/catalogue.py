"""What the shop sells: a few CDs, prices in euros, and a buyer's order of them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Cd:
    id: str
    title: str
    artist: str
    year: int
    price: Decimal
    colour: str  # the sleeve, drawn in CSS


CATALOGUE: tuple[Cd, ...] = (
    Cd("kind-of-blue", "Kind of Blue", "Miles Davis", 1959, Decimal("12.99"), "#1f4e8c"),
    Cd("la-mauvaise-reputation", "La Mauvaise Réputation", "Georges Brassens", 1952, Decimal("9.90"), "#8c2f1f"),
    Cd("melody-nelson", "Histoire de Melody Nelson", "Serge Gainsbourg", 1971, Decimal("14.50"), "#b8860b"),
    Cd("moon-safari", "Moon Safari", "Air", 1998, Decimal("11.00"), "#4a8c6f"),
    Cd("homework", "Homework", "Daft Punk", 1997, Decimal("13.20"), "#222222"),
    Cd("ne-me-quitte-pas", "Ne me quitte pas", "Jacques Brel", 1959, Decimal("10.43"), "#6b3f8c"),
)
BY_ID = {cd.id: cd for cd in CATALOGUE}


@dataclass
class ShopOrder:
    id: str
    lines: list[tuple[Cd, int]]
    total: Decimal
    tpe: str
    reference: str = ""
    checkout_url: str = ""
    language: str = "FR"  # the one the buyer chose for the payment page: the order page speaks it too
