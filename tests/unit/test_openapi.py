"""docs/openapi.yaml describes exactly the routes template.yaml declares: no route undocumented, none invented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stacktools.template import TEMPLATE_PATH, load_yaml

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def template_routes() -> set[tuple[str, str]]:
    """The API's routes, but the console's pages (HTML for a browser, not the API: docs/console.md)."""
    routes = set()
    for name, resource in load_yaml(TEMPLATE_PATH.read_text())["Resources"].items():
        if name == "ConsoleFunction":
            continue
        events: dict[str, Any] = (resource.get("Properties") or {}).get("Events") or {}
        for event in events.values():
            if event.get("Type") in {"Api", "HttpApi"}:
                routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return routes


def document_routes() -> set[tuple[str, str]]:
    document = yaml.safe_load(OPENAPI.read_text())
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_the_document_and_the_template_name_the_same_routes() -> None:
    assert template_routes()
    assert document_routes() == template_routes()


def test_every_public_route_is_marked_public() -> None:
    document = yaml.safe_load(OPENAPI.read_text())
    public = {
        (m.upper(), p) for p, item in document["paths"].items() for m, op in item.items() if op.get("security") == []
    }
    assert public == {("GET", "/checkout/{token}"), ("POST", "/confirmation")}
