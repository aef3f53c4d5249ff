"""The shop keys' API Gateway Lambda authorizer (REQUEST, identity source the Authorization header).

Allows a valid key on every route of its API (API Gateway caches the answer per header, whatever the route: the
functions check the key's scope, ``orders.keys.check_event_scope``) with the key's id, label and scope in the
context; denies any other with ``context.message`` saying why (revoked, expired, the other environment's, malformed
or unknown), which the API's ACCESS_DENIED gateway response answers as 401 ``{"error": {"message", "field"}}``.
The key is never logged: only its id, once it is known to be a key of this stack. Its last use is written at most
once a minute, and a write that fails (throttled, denied, timed out) is logged, never the call's refusal.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ShopKeyRefusedError, StoreUnavailableError
from orders.keys import bearer

logger = Logger()
metrics = Metrics()


def _every_route(method_arn: str) -> str:
    """``arn:...:<api>/<stage>/<METHOD>/<path>`` → ``arn:...:<api>/<stage>/*``: the answer is cached per header."""
    api_and_stage = method_arn.split("/", 2)[:2]
    return "/".join([*api_and_stage, "*"])


def _policy(effect: str, method_arn: str) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": _every_route(method_arn)}
    return {"Version": "2012-10-17", "Statement": [statement]}


def create_handler(deps: Dependencies) -> Handler:
    """The authorizer's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        method_arn = str(event.get("methodArn", ""))
        headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
        try:
            shop_key = deps.keys().authenticate(bearer(headers.get("authorization")), deps.clock())
        except ShopKeyRefusedError as exc:
            logger.info("shop key refused", extra={"reason": str(exc).split(":", 1)[0]})
            metrics.add_metric(name="ShopKeysRefused", unit=MetricUnit.Count, value=1)
            return {
                "principalId": "refused",
                "policyDocument": _policy("Deny", method_arn),
                "context": {"message": str(exc)},
            }
        try:
            deps.keys().touch(shop_key, deps.clock())
        except StoreUnavailableError as exc:  # throttled, denied, timed out: the key holds, its last use waits
            logger.warning("shop key's last use not written", extra={"key_id": shop_key.key_id, "detail": str(exc)})
            metrics.add_metric(name="ShopKeysLastUseNotWritten", unit=MetricUnit.Count, value=1)
        logger.info("shop key allowed", extra={"key_id": shop_key.key_id, "scope": shop_key.scope})
        context_values = {"key_id": shop_key.key_id, "label": shop_key.label, "scope": shop_key.scope}
        return {
            "principalId": shop_key.key_id,
            "policyDocument": _policy("Allow", method_arn),
            "context": context_values,
        }

    return handler


lambda_handler = environment_handler(create_handler)
