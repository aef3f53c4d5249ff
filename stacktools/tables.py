"""The CreateTable request for a table of template.yaml, as CloudFormation would make it (the kit's tests and the
local stack create their tables with it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# CloudFormation property → CreateTable parameter, for the properties CreateTable takes as they are.
_CREATE_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "TableClass",
    "DeletionProtectionEnabled",
    "OnDemandThroughput",
)
_INDEX_PROPERTIES = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def create_table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The CreateTable request for a table's (resolved) CloudFormation properties; keys and indexes as declared."""
    request: dict[str, Any] = {"TableName": name}
    request.update({key: properties[key] for key in _CREATE_TABLE_PROPERTIES if key in properties})
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if kind in properties:
            request[kind] = [{k: index[k] for k in _INDEX_PROPERTIES if k in index} for index in properties[kind]]
    stream = properties.get("StreamSpecification")
    if stream:
        # CloudFormation enables the stream by naming its view type; the API asks for StreamEnabled too.
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        # CloudFormation says SSEEnabled where the API says Enabled.
        request["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    return request
