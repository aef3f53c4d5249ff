"""A boto3 client that keeps every request it makes, to hold the requests the code really sends against a policy.

Passed in where the code takes its client (``OrderStore(table, client=RecordingClient(dynamodb))``), never
patched in: the requests recorded are those of the code path under test, as it would send them to AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    operation: str  # the API's name: UpdateItem, PutItem...
    parameters: dict[str, Any]


class RecordingClient:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.requests: list[Request] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:  # meta, exceptions, paginators...: not a request
            return attribute

        def call(**parameters: Any) -> Any:
            self.requests.append(Request(operation, parameters))
            return attribute(**parameters)

        return call


# A document path's first element (a top-level attribute, or its #placeholder); `a.b[2].c` names `a`.
_PATH = re.compile(r"(?<![\w:#.])([#]?[A-Za-z_]\w*)(?:\[\d+\]|\.[#]?[A-Za-z_]\w*)*(\s*\()?")
_KEYWORDS = {"SET", "ADD", "REMOVE", "DELETE", "AND", "OR", "NOT", "IN", "BETWEEN"}
_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "KeyConditionExpression", "ProjectionExpression")


def top_level_attributes(request: Request) -> set[str]:
    """Every top-level attribute a DynamoDB request names: its key, its item, its expressions (placeholders
    resolved through ``ExpressionAttributeNames``, function names and keywords left out)."""
    parameters = request.parameters
    names: dict[str, str] = parameters.get("ExpressionAttributeNames") or {}
    found = set(parameters.get("Key") or {}) | set(parameters.get("Item") or {})
    for field in _EXPRESSIONS:
        for match in _PATH.finditer(parameters.get(field) or ""):
            token, is_function = match.group(1), match.group(2)
            if is_function or token.upper() in _KEYWORDS:
                continue
            found.add(names[token] if token.startswith("#") else token)
    return found


def partition_key(request: Request, name: str = "pk") -> str:
    """The partition key value a request writes or reads (``dynamodb:LeadingKeys``): its key or item's, or the
    value a query's key condition names (``pk = :value``)."""
    condition = re.search(rf"\b{name} = (:\w+)", str(request.parameters.get("KeyConditionExpression", "")))
    if condition:
        return str(request.parameters["ExpressionAttributeValues"][condition[1]]["S"])
    key = request.parameters.get("Key") or request.parameters.get("Item") or {}
    return str(key[name]["S"])
