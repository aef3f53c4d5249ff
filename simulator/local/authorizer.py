"""API Gateway's REQUEST Lambda authorizer, as a REST API runs it before a route's integration.

- The identity sources (``Identity.Headers``) are read first: a request missing one is answered with the API's
  ``UNAUTHORIZED`` gateway response, and the authorizer function is not invoked.
- Otherwise the function gets the REQUEST authorizer event (``type``, ``methodArn``, the request's headers, query
  string, path parameters and ``requestContext``, no body), and answers a policy, a ``principalId`` and a
  ``context``. The answer is cached per identity source values for ``Identity.ReauthorizeEvery`` seconds (SAM's
  default 300; 0 caches nothing), whatever the route: each request's method ARN is evaluated against the cached
  policy, as API Gateway does.
- The policy: an explicit ``Deny`` matching the method ARN wins; else an ``Allow`` matching it lets the request
  through, with ``requestContext.authorizer`` holding the context's values (as strings), ``principalId`` and
  ``integrationLatency``. Anything else is the ``ACCESS_DENIED`` gateway response, its template's
  ``$context.authorizer.<name>`` replaced by the context's value, as API Gateway replaces it (as is, unescaped).
- An authorizer that raises ``Unauthorized`` is ``UNAUTHORIZED``; one that fails otherwise, or answers no policy,
  is API Gateway's ``500 {"message": null}`` (``AUTHORIZER_CONFIGURATION_ERROR``).
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devhttp import HttpRequest, HttpResponse, Match

from .apigw import ApiContext, proxy_event

SAM_DEFAULT_TTL = 300  # seconds: SAM's ReauthorizeEvery when the template gives none
# API Gateway's own answers when the API declares no gateway response of that type.
DEFAULT_RESPONSES = {
    "UNAUTHORIZED": (401, '{"message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, '{"message":"User is not authorized to access this resource with an explicit deny"}'),
}
_AUTHORIZER_VARIABLE = re.compile(r"\$(?:context\.authorizer\.|\{context\.authorizer\.)(\w+)\}?")


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    template: str  # the application/json response template

    def answer(self, context: Mapping[str, Any]) -> HttpResponse:
        body = _AUTHORIZER_VARIABLE.sub(lambda match: str(context.get(match.group(1), "")), self.template)
        return HttpResponse(self.status, [("Content-Type", "application/json")], body.encode())


@dataclass(frozen=True)
class AuthorizerSpec:
    """What the template says of a REQUEST authorizer and of its API's gateway responses."""

    function: str  # the authorizer function's logical id
    headers: tuple[str, ...]  # the identity sources
    ttl_seconds: int
    responses: Mapping[str, GatewayResponse]

    @classmethod
    def of(cls, api_properties: Mapping[str, Any], name: str) -> AuthorizerSpec:
        """The authorizer ``name`` of an API's properties, as the template writes them (its function a
        ``!GetAtt <function>.Arn``)."""
        declared = ((api_properties.get("Auth") or {}).get("Authorizers") or {})[name]
        if declared.get("FunctionPayloadType") != "REQUEST":
            raise ValueError(f"authorizer {name}: the local stack runs REQUEST authorizers only")
        function = (declared.get("FunctionArn") or {}).get("Fn::GetAtt") or []
        if len(function) != 2 or function[1] != "Arn":
            raise ValueError(f"authorizer {name}: FunctionArn must be !GetAtt <a function of the template>.Arn")
        identity = declared.get("Identity") or {}
        responses = {
            kind: GatewayResponse(int(response.get("StatusCode", DEFAULT_RESPONSES[kind][0])), _template(response))
            for kind, response in (api_properties.get("GatewayResponses") or {}).items()
            if kind in DEFAULT_RESPONSES
        }
        return cls(
            function=str(function[0]),
            headers=tuple(str(header) for header in identity.get("Headers") or ()),
            ttl_seconds=int(identity.get("ReauthorizeEvery", SAM_DEFAULT_TTL)),
            responses=responses,
        )

    def response(self, kind: str) -> GatewayResponse:
        status, template = DEFAULT_RESPONSES[kind]
        return self.responses.get(kind) or GatewayResponse(status, template)


def _template(response: Mapping[str, Any]) -> str:
    templates = response.get("ResponseTemplates") or {}
    return str(templates.get("application/json", ""))


def method_arn(api: ApiContext, region: str, method: str, resource_path: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`` of a request."""
    return f"arn:aws:execute-api:{region}:{api.account_id}:{api.api_id}/{api.stage}/{method.upper()}{resource_path}"


def authorizer_event(request: HttpRequest, match: Match[Any], api: ApiContext, arn: str) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway sends for this request: the proxy event's request parts, no body."""
    event = proxy_event(request, match, api)
    for name in ("body", "isBase64Encoded"):
        event.pop(name)
    return {"type": "REQUEST", "methodArn": arn, **event}


def _matches(pattern: Any, value: str) -> bool:
    patterns = pattern if isinstance(pattern, list) else [pattern]
    return any(fnmatch.fnmatchcase(value, str(p)) for p in patterns)


def allows(policy: Mapping[str, Any], arn: str) -> bool:
    """Whether the policy document lets ``execute-api:Invoke`` on ``arn``: an explicit Deny wins."""
    statements = policy.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    effects = {
        str(statement.get("Effect"))
        for statement in statements
        if _matches(statement.get("Action", ""), "execute-api:Invoke") and _matches(statement.get("Resource", ""), arn)
    }
    return "Allow" in effects and "Deny" not in effects


@dataclass
class _Answer:
    principal_id: str
    policy: Mapping[str, Any]
    context: dict[str, str]
    until: float


@dataclass
class RequestAuthorizer:
    """A REQUEST authorizer in front of an API's routes; ``invoke`` runs its function with an event."""

    spec: AuthorizerSpec
    invoke: Callable[[dict[str, Any]], Any]
    api: ApiContext
    region: str
    clock: Callable[[], float] = time.monotonic
    _cache: dict[tuple[str, ...], _Answer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, request: HttpRequest, match: Match[Any]) -> dict[str, Any] | HttpResponse:
        """``requestContext.authorizer`` for a request let through, else the gateway response answering it."""
        identity = tuple(request.header(header) or "" for header in self.spec.headers)
        if not all(value.strip() for value in identity):
            return self.spec.response("UNAUTHORIZED").answer({})
        arn = method_arn(self.api, self.region, request.method, match.resource)
        started = time.monotonic()
        answer = self._cached(identity)
        if answer is None:
            try:
                answer = self._ask(authorizer_event(request, match, self.api, arn))
            except _Unauthorized:
                return self.spec.response("UNAUTHORIZED").answer({})
            except _Misconfigured:
                return HttpResponse.json(500, {"message": None})
            if self.spec.ttl_seconds > 0:
                with self._lock:
                    self._cache[identity] = answer
        if not allows(answer.policy, arn):
            return self.spec.response("ACCESS_DENIED").answer(answer.context)
        latency = int((time.monotonic() - started) * 1000)
        return {**answer.context, "principalId": answer.principal_id, "integrationLatency": latency}

    def _cached(self, identity: tuple[str, ...]) -> _Answer | None:
        with self._lock:
            answer = self._cache.get(identity)
            if answer is not None and answer.until <= self.clock():
                del self._cache[identity]
                return None
            return answer

    def _ask(self, event: dict[str, Any]) -> _Answer:
        try:
            result = self.invoke(event)
        except Exception as exc:
            raise (_Unauthorized() if str(exc) == "Unauthorized" else _Misconfigured()) from exc
        if not isinstance(result, Mapping) or not isinstance(result.get("policyDocument"), Mapping):
            raise _Misconfigured()
        context = result.get("context") or {}
        if not isinstance(context, Mapping) or any(isinstance(v, dict | list) for v in context.values()):
            raise _Misconfigured()  # API Gateway takes strings, numbers and booleans only
        return _Answer(
            principal_id=str(result.get("principalId", "")),
            policy=result["policyDocument"],
            context={str(name): _context_value(value) for name, value in context.items()},
            until=self.clock() + self.spec.ttl_seconds,
        )


def _context_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


class _Unauthorized(Exception):
    """The authorizer raised ``Unauthorized``: API Gateway's UNAUTHORIZED."""


class _Misconfigured(Exception):
    """The authorizer failed or answered no policy: API Gateway's 500."""
