"""The console's texts in French and English, and the language of a request.

Each area of the console has its texts in ``locales/<area>.<language>.json``; every language has the same keys
(a test holds them equal). The language is the one the user chose (the ``lang`` cookie, set by ``?lang=``), else
the first of the browser's ``Accept-Language`` the console speaks, else English.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from string import Formatter

from orders.calendar import zone

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "console_lang"


@cache
def catalog(language: str) -> dict[str, str]:
    """Every text of ``language``, by key."""
    texts: dict[str, str] = {}
    for entry in sorted(resources.files("console").joinpath("locales").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(f".{language}.json"):
            texts.update(json.loads(entry.read_text(encoding="utf-8")))
    return texts


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._texts = catalog(self.language)

    def __call__(self, key: str, **values: object) -> str:
        """The text of ``key``, its ``{placeholders}`` filled (a missing key is a KeyError: tests catch it)."""
        text = self._texts[key]
        return text.format(**values) if values else text

    def money(self, amount: Decimal, currency: str) -> str:
        """``1 234,50 EUR`` in French, ``1,234.50 EUR`` in English."""
        text = f"{amount:,.2f}"
        if self.language == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return f"{text} {currency}"

    def time(self, moment: datetime, timezone: str) -> str:
        """``moment`` in the terminal's zone: ``06/12/2026 22:05`` in French, ``2026-12-06 22:05`` in English."""
        local = moment.astimezone(zone(timezone))
        return local.strftime("%d/%m/%Y %H:%M" if self.language == "fr" else "%Y-%m-%d %H:%M")


def choose(query_language: str | None, cookie_language: str | None, accept_language: str) -> str:
    """The language of a request: asked for in the query, kept in the cookie, else the browser's."""
    for asked in (query_language, cookie_language):
        if asked in LANGUAGES:
            return str(asked)
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, position, tag.strip().lower()[:2]))
    for _, _, tag in sorted(weighted):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
