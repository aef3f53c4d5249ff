"""The sandbox's HTML through Jinja2 templates (``chalicelib/templates``, shipped inside ``chalicelib`` by
``chalice deploy``), autoescaped: every value a template writes is escaped unless the template says otherwise.

A template is written one element a line for reading; its lines are joined, their indentation dropped, when it is
loaded, so the page served is the same one line or many (whitespace between tags is not content). A ``.css``
template is kept as written.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"


class _JoinedLines(FileSystemLoader):
    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".html"):
            source = "".join(line.strip() for line in source.splitlines())
        return source, filename, uptodate


ENVIRONMENT = Environment(
    loader=_JoinedLines(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the page, never writes ""
    auto_reload=False,
)


def money(amount: Decimal, currency: str) -> str:
    """An amount as the bank's pages write it: ``1 EUR``, ``14.50 EUR``, ``464.53 EUR``."""
    return f"{amount:.2f} {currency}" if amount % 1 else f"{amount:.0f} {currency}"


ENVIRONMENT.filters["money"] = money
ENVIRONMENT.filters["day"] = lambda moment: f"{moment:%d/%m/%Y}"


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
