"""How the console writes a time and an amount, in each of its languages (every page through the same two)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from console.i18n import Translator, choose

MOMENT = datetime(2026, 12, 6, 21, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "zone", "written"),
    [
        ("fr", "Europe/Paris", "06/12/2026 22:05"),
        ("en", "Europe/Paris", "2026-12-06 22:05"),
        ("en", "America/Martinique", "2026-12-06 17:05"),
    ],
)
def test_a_time_is_the_terminals_in_the_users_language(language: str, zone: str, written: str) -> None:
    assert Translator(language).time(MOMENT, zone) == written


def test_an_amount_is_grouped_as_each_language_groups_it() -> None:
    assert Translator("fr").money(Decimal("1234.5"), "EUR") == "1\u202f234,50 EUR"
    assert Translator("en").money(Decimal("1234.5"), "EUR") == "1,234.50 EUR"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "language"),
    [
        (None, None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, None, "de-DE,en;q=0.5,fr;q=0.7", "fr"),
        (None, "en", "fr-FR", "en"),
        ("fr", "en", "en-GB", "fr"),
        ("xx", None, "", "en"),
    ],
)
def test_the_language_is_asked_kept_or_the_browsers(
    query: str | None, cookie: str | None, accept: str, language: str
) -> None:
    assert choose(query, cookie, accept) == language
