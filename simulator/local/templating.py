"""The local stack's own pages (``/_local/mail``, ``/_local/events``): Jinja2 templates in ``local/templates``,
autoescaped, so a mail's subject or an event's detail is shown as text, whatever it holds.

A template is written one element a line for reading; its lines are joined, their indentation dropped, when it is
loaded (whitespace between tags is not content).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"


class _JoinedLines(FileSystemLoader):
    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return "".join(line.strip() for line in source.splitlines()), filename, uptodate


ENVIRONMENT = Environment(
    loader=_JoinedLines(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the page, never writes ""
)


def render(template: str, **context: Any) -> bytes:
    """The page, UTF-8 encoded as the local server sends it."""
    return ENVIRONMENT.get_template(template).render(**context).encode()
