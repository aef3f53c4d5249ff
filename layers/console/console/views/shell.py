"""What every page leans on: the stylesheet, and /console itself (the orders)."""

from __future__ import annotations

from importlib import resources

from ..http import Response
from ..routing import Context, Route

STYLESHEET = resources.files("console").joinpath("static", "console.css").read_text(encoding="utf-8")


def stylesheet(ctx: Context) -> Response:
    return Response(200, STYLESHEET, "text/css; charset=utf-8", {"Cache-Control": "public, max-age=300"})


def home(ctx: Context) -> Response:
    return ctx.redirect("/console/orders")


ROUTES = [
    Route("GET", "/console/static/console.css", None, stylesheet),
    Route("GET", "/console", "viewer", home),
]
