"""Every function of the template is handled one way for its kind of event.

An API function answers through the kit's resolver (``orders.web.resolver``): a route it does not serve is the API's
404, an error of the orders layer (or an unusable configuration) its JSON error. A function fed by a batch of records
(SQS, a DynamoDB stream) handles each record with one function and answers Lambda's partial batch response
(``orders.records``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from orders.exceptions import ConfigurationError
from orders.terminals import Terminals

ROOT = Path(__file__).resolve().parents[2]


class _TemplateLoader(yaml.SafeLoader):
    """The template's YAML, its intrinsic functions (``!Sub``, ``!Ref``...) read as plain values."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def functions_by_event_type() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Each function's directory, and its events' properties by event type."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        name = Path(resource["Properties"]["CodeUri"]).name
        events = found.setdefault(name, {})
        for source in (resource["Properties"].get("Events") or {}).values():
            events.setdefault(source["Type"], []).append(source.get("Properties") or {})
    return found


FUNCTIONS = functions_by_event_type()
# The JSON API's functions; the console's pages (HTML, their own router: console.routing) are held by
# tests/functional/test_console_shell.py.
API_FUNCTIONS = sorted(name for name, events in FUNCTIONS.items() if "Api" in events and name != "console")
RECORD_FUNCTIONS = sorted(name for name, events in FUNCTIONS.items() if {"SQS", "DynamoDB"} & set(events))


def test_the_template_is_read() -> None:
    routes = {(name, r["Method"].upper(), r["Path"]) for name in API_FUNCTIONS for r in FUNCTIONS[name]["Api"]}
    assert set(READ_TERMINALS_FIRST) <= routes
    assert {"cgi1", "cgi2", "checkout", "backoffice", "golive", "reconciliation"} <= set(API_FUNCTIONS)
    assert {"confirmation_consumer", "reconciliation_parts", "order_events", "give_back"} <= set(RECORD_FUNCTIONS)


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_every_api_function_answers_a_route_it_does_not_serve_with_the_apis_404(
    aws: Any, lambda_context: Any, function: str
) -> None:
    request = {"httpMethod": "DELETE", "resource": "/nowhere", "path": "/nowhere", "headers": {}, "body": None}
    answer = aws.invoke(function, request, lambda_context)
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"error": {"message": "no such route"}}


NEW_ORDER = {"amount": "1.00", "currency": "EUR", "email": "buyer@example.com"}


def _request(route: dict[str, Any]) -> dict[str, Any]:
    path = str(route["Path"])
    parameters = {name: "0900157" for name in ("tpe", "reference", "token") if f"{{{name}}}" in path}
    return {
        "httpMethod": route["Method"].upper(),
        "resource": path,
        "path": path,
        "pathParameters": parameters,
        "headers": {"Host": "127.0.0.1:9"},
        "requestContext": {"stage": "v1"},
        "body": json.dumps(NEW_ORDER) if (route["Method"].upper(), path) == ("POST", "/orders") else None,
    }


# The routes that read the terminals before anything else (the others read the order, or refuse the request, first).
READ_TERMINALS_FIRST = [
    ("cgi1", "POST", "/orders"),
    ("backoffice", "GET", "/orders"),
    ("backoffice", "GET", "/books/captures"),
    ("backoffice", "GET", "/books/refunds"),
    ("golive", "GET", "/terminals/{tpe}/golive"),
    ("golive", "POST", "/terminals/{tpe}/smoke"),
    ("reconciliation", "POST", "/reconciliation"),
]


@pytest.mark.parametrize(
    ("function", "route"),
    [(name, {"Method": method, "Path": path}) for name, method, path in READ_TERMINALS_FIRST],
    ids=lambda value: value if isinstance(value, str) else f"{value['Method']} {value['Path']}",
)
def test_every_api_route_answers_an_unusable_configuration_with_the_apis_500(
    aws: Any, lambda_context: Any, function: str, route: dict[str, Any]
) -> None:
    def unreadable() -> Terminals:
        raise ConfigurationError("the terminal secret cannot be read: AccessDenied")

    aws.use(terminals=unreadable)
    request = _request(route)
    answer = aws.invoke(function, request, lambda_context)
    assert answer["statusCode"] == 500, answer["body"]
    assert json.loads(answer["body"]) == {
        "error": {"message": "the terminal configuration is unusable; see the function's log"}
    }


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEV environment variable is enabled")
@pytest.mark.parametrize("debug", ["false", "true"])
@pytest.mark.parametrize(
    ("function", "route"),
    [(name, {"Method": method, "Path": path}) for name, method, path in READ_TERMINALS_FIRST],
    ids=lambda value: value if isinstance(value, str) else f"{value['Method']} {value['Path']}",
)
def test_every_api_route_answers_an_unexpected_failure_with_the_apis_500_and_no_trace(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, function: str, route: dict[str, Any], debug: str
) -> None:
    # Not an error of the orders layer: the resolver must not let Lambda fail (API Gateway's 502 reads as "the bank
    # refused"), nor, with Powertools' development mode on, answer the traceback and what the exception held.
    def broken() -> Terminals:
        raise KeyError("hmac-key-0123456789abcdef")

    monkeypatch.setenv("POWERTOOLS_DEV", debug)
    aws.use(terminals=broken)
    request = _request(route)
    answer = aws.invoke(function, request, lambda_context)
    assert answer["statusCode"] == 500, answer["body"]
    assert json.loads(answer["body"]) == {"error": {"message": "internal error; see the function's log"}}
    assert "hmac-key" not in answer["body"]


def _imported_names(function: str) -> set[str]:
    tree = ast.parse((ROOT / "functions" / function / "app.py").read_text())
    return {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_every_api_function_is_routed_by_the_kits_resolver(function: str) -> None:
    assert "orders.web.resolver.resolver" in _imported_names(function)


@pytest.mark.parametrize("function", RECORD_FUNCTIONS)
def test_every_record_function_answers_through_the_one_batch_helper(function: str) -> None:
    assert "orders.records.batch_response" in _imported_names(function)
