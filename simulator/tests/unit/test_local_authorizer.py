"""local.authorizer: API Gateway's REQUEST Lambda authorizer, as a REST API runs it (the event it sends, the policy
evaluated, the answer cached per identity source for the template's TTL, the gateway responses)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhttp import HttpRequest, HttpResponse, Match
from local.apigw import ApiContext
from local.authorizer import AuthorizerSpec, GatewayResponse, RequestAuthorizer, allows
from stacktools.template import Template

API = ApiContext(stage="v1", api_id="keysapi", account_id="123456789012")
ARN = "arn:aws:execute-api:eu-west-3:123456789012:keysapi/v1"
SPEC = AuthorizerSpec(
    function="ShopKeyAuthorizerFunction",
    headers=("Authorization",),
    ttl_seconds=60,
    responses={
        "ACCESS_DENIED": GatewayResponse(401, '{"error": {"message": "$context.authorizer.message", "field": "x"}}'),
        "UNAUTHORIZED": GatewayResponse(401, '{"error": {"message": "no key", "field": "x"}}'),
    },
)


def policy(effect: str, resource: str = f"{ARN}/*") -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"Version": "2012-10-17", "Statement": [statement]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Function:
    """The authorizer function: allows ``Bearer good``, denies any other saying why; records its events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if event["headers"].get("Authorization") == "Bearer good":
            return {"principalId": "k1", "policyDocument": policy("Allow"), "context": {"scope": "shop", "n": 3}}
        return {"principalId": "refused", "policyDocument": policy("Deny"), "context": {"message": "revoked at noon"}}


def make() -> tuple[RequestAuthorizer, Function, Clock]:
    function, clock = Function(), Clock()
    return RequestAuthorizer(SPEC, function, API, "eu-west-3", clock=clock), function, clock


def call(authorizer: RequestAuthorizer, key: str | None, method: str = "GET") -> dict[str, Any] | HttpResponse:
    headers = [("Authorization", key)] if key is not None else []
    request = HttpRequest(method, "/orders/R1?x=1", [*headers, ("Content-Type", "application/json")], b'{"a": 1}')
    match = Match(target=None, resource="/orders/{reference}", method=method, path_parameters={"reference": "R1"})
    return authorizer.authorize(request, match)


def body(answer: dict[str, Any] | HttpResponse) -> tuple[int, Any]:
    assert isinstance(answer, HttpResponse)
    assert answer.header("Content-Type") == "application/json"
    return answer.status, json.loads(answer.body)


def test_the_function_gets_the_request_authorizer_event() -> None:
    authorizer, function, _ = make()
    call(authorizer, "Bearer good")
    (event,) = function.events
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"{ARN}/GET/orders/{{reference}}"
    assert event["resource"] == "/orders/{reference}"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["Authorization"] == "Bearer good"
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["pathParameters"] == {"reference": "R1"}
    assert event["requestContext"]["stage"] == "v1"
    assert "body" not in event


def test_an_allow_gives_the_context_as_strings_with_the_principal() -> None:
    authorizer, _, _ = make()
    answer = call(authorizer, "Bearer good")
    assert isinstance(answer, dict)
    expected = {"scope": "shop", "n": "3", "principalId": "k1"}
    assert {name: answer[name] for name in expected} == expected
    assert isinstance(answer["integrationLatency"], int)


def test_a_deny_is_the_access_denied_response_with_the_context_substituted() -> None:
    authorizer, _, _ = make()
    assert body(call(authorizer, "Bearer bad")) == (401, {"error": {"message": "revoked at noon", "field": "x"}})


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_identity_header_is_unauthorized_without_invoking_the_function(key: str | None) -> None:
    authorizer, function, _ = make()
    assert body(call(authorizer, key)) == (401, {"error": {"message": "no key", "field": "x"}})
    assert function.events == []


def test_the_answer_is_cached_per_header_for_the_ttl_whatever_the_route() -> None:
    authorizer, function, clock = make()
    assert isinstance(call(authorizer, "Bearer good"), dict)
    assert isinstance(call(authorizer, "Bearer good", "POST"), dict)
    assert body(call(authorizer, "Bearer bad"))[0] == 401
    assert len(function.events) == 2  # one per header
    clock.now += 59
    call(authorizer, "Bearer good")
    assert len(function.events) == 2
    clock.now += 1
    call(authorizer, "Bearer good")
    assert len(function.events) == 3


def test_a_cached_policy_is_evaluated_against_each_route() -> None:
    """An authorizer that allows only the route it was asked for: the cached policy refuses the next route."""
    calls: list[dict[str, Any]] = []

    def narrow(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return {"principalId": "k", "policyDocument": policy("Allow", event["methodArn"]), "context": {}}

    authorizer = RequestAuthorizer(SPEC, narrow, API, "eu-west-3", clock=Clock())
    assert isinstance(call(authorizer, "Bearer x", "GET"), dict)
    assert body(call(authorizer, "Bearer x", "POST")) == (401, {"error": {"message": "", "field": "x"}})
    assert len(calls) == 1


def test_a_failing_authorizer_is_a_500_and_unauthorized_is_a_401() -> None:
    def failing(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    def unauthorized(event: dict[str, Any]) -> Any:
        raise Exception("Unauthorized")  # what a Node or Python authorizer raises

    assert body(call(RequestAuthorizer(SPEC, failing, API, "eu-west-3"), "Bearer x")) == (500, {"message": None})
    assert body(call(RequestAuthorizer(SPEC, unauthorized, API, "eu-west-3"), "Bearer x"))[0] == 401
    no_policy = RequestAuthorizer(SPEC, lambda event: {"principalId": "k"}, API, "eu-west-3")
    assert body(call(no_policy, "Bearer x")) == (500, {"message": None})


def test_policy_evaluation_explicit_deny_wins_and_wildcards_match() -> None:
    arn = f"{ARN}/GET/orders/R1"
    assert allows(policy("Allow"), arn)
    assert not allows(policy("Allow", f"{ARN}/POST/*"), arn)
    both = {"Statement": [policy("Allow")["Statement"][0], policy("Deny", f"{ARN}/GET/*")["Statement"][0]]}
    assert not allows(both, arn)
    assert not allows({"Statement": []}, arn)


def test_the_spec_is_the_templates() -> None:
    template = Template.load()
    properties = template.api_properties("KeysApi")
    spec = AuthorizerSpec.of(properties, "ShopKeys")
    assert spec.function == "ShopKeyAuthorizerFunction"
    declared = properties["Auth"]["Authorizers"]["ShopKeys"]["Identity"]
    assert spec.headers == tuple(declared["Headers"])
    assert spec.ttl_seconds == declared["ReauthorizeEvery"]
    assert spec.responses["ACCESS_DENIED"].status == 401
    assert "$context.authorizer.message" in spec.responses["ACCESS_DENIED"].template
