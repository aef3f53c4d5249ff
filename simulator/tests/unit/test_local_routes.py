"""Route matching as API Gateway does it, and the routes the local stack reads from template.yaml."""

from __future__ import annotations

import pytest

from devhttp.routes import Match, MethodNotAllowed, Router, parse_resource_path
from local.stack import API_BASE_PATHS
from stacktools.template import ROOT, Template


def _router() -> Router[str]:
    return Router(
        [
            ("POST", "/orders", "create"),
            ("GET", "/orders/{reference}", "read"),
            ("GET", "/orders/today", "today"),
            ("GET", "/checkout/{token}", "checkout"),
            ("ANY", "/files/{path+}", "files"),
            ("GET", "/", "root"),
        ]
    )


def _match(router: Router[str], method: str, path: str) -> Match[str]:
    found = router.match(method, path)
    assert isinstance(found, Match), found
    return found


def test_literal_path() -> None:
    found = _match(_router(), "POST", "/orders")
    assert (found.target, found.resource, found.method, found.path_parameters) == ("create", "/orders", "POST", {})


def test_path_parameter() -> None:
    found = _match(_router(), "GET", "/checkout/abc.DEF_12-x")
    assert found.target == "checkout"
    assert found.resource == "/checkout/{token}"
    assert found.path_parameters == {"token": "abc.DEF_12-x"}


def test_path_parameters_are_percent_decoded() -> None:
    assert _match(_router(), "GET", "/orders/A%20B%2FC").path_parameters == {"reference": "A B/C"}


def test_a_literal_beats_a_parameter() -> None:
    assert _match(_router(), "GET", "/orders/today").target == "today"
    assert _match(_router(), "GET", "/orders/tomorrow").target == "read"


def test_greedy_parameter_and_any_method() -> None:
    found = _match(_router(), "DELETE", "/files/a/b/c.txt")
    assert (found.target, found.method, found.path_parameters) == ("files", "ANY", {"path": "a/b/c.txt"})
    assert _router().match("GET", "/files") is None, "a greedy parameter needs at least one segment"


def test_method_names_are_case_insensitive() -> None:
    assert _match(_router(), "post", "/orders").target == "create"


def test_query_string_and_trailing_slash_do_not_matter() -> None:
    assert _match(_router(), "POST", "/orders?x=1").target == "create"
    assert _match(_router(), "POST", "/orders/").target == "create"
    assert _match(_router(), "GET", "/").target == "root"


def test_unknown_path() -> None:
    assert _router().match("GET", "/nope") is None
    assert _router().match("GET", "/orders/a/b") is None
    assert _router().match("GET", "/checkout") is None


def test_known_path_other_method() -> None:
    found = _router().match("DELETE", "/orders/X1")
    assert found == MethodNotAllowed(resource="/orders/{reference}", allowed=("GET",))
    assert _router().match("GET", "/orders") == MethodNotAllowed(resource="/orders", allowed=("POST",))


def test_a_route_declared_twice_is_refused() -> None:
    router = _router()
    with pytest.raises(ValueError, match="twice"):
        router.add("post", "/orders", "again")


@pytest.mark.parametrize("path", ["orders", "/a/{p+}/b", "/a/x{p}", "/a/{p"])
def test_bad_resource_paths(path: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_resource_path(path)


def test_routes_come_from_the_template() -> None:
    """Each API's routes under its base path on the local server (the key callers' at /keys-api)."""
    template = Template.load(ROOT / "template.yaml")
    served = [(r.method, API_BASE_PATHS.get(r.api, "") + r.path, r.function) for r in template.routes()]
    router: Router[str] = Router(served)
    assert _match(router, "POST", "/orders").target == "Cgi1Function"
    assert _match(router, "GET", "/orders/ABC123").path_parameters == {"reference": "ABC123"}
    checkout = _match(router, "GET", "/checkout/tok.en")
    assert (checkout.target, checkout.resource, checkout.path_parameters) == (
        "CheckoutFunction",
        "/checkout/{token}",
        {"token": "tok.en"},
    )
    assert _match(router, "POST", "/confirmation").target == "Cgi2Function"
    assert isinstance(router.match("GET", "/confirmation"), MethodNotAllowed)
    assert router.match("GET", "/") is None
    assert _match(router, "POST", "/keys-api/orders").target == "Cgi1Function"
    declared = {(r.method, API_BASE_PATHS.get(r.api, "") + r.path) for r in template.routes()}
    assert {(method, path) for method, path, _ in router.routes} == declared
