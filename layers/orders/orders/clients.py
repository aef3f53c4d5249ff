"""The boto3 clients of the orders layer's AWS resources, each made on first use."""

from __future__ import annotations

from typing import Any, overload

import boto3


class LazyClient[Client]:
    """A resource's boto3 client, kept in the instance's ``_client``: the one its constructor was given (a test's,
    the local stack's), else made on first use, not at import or construction, so a cold start pays only for the
    clients its request uses.

        class ConfirmationQueue:
            client: LazyClient[SQSClient] = LazyClient("sqs")
    """

    def __init__(self, service: str) -> None:
        self.service = service

    @overload
    def __get__(self, instance: None, owner: type) -> LazyClient[Client]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Client: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> LazyClient[Client] | Client:
        if instance is None:
            return self
        client: Client | None = vars(instance).get("_client")
        if client is None:
            client = boto3_client(self.service)
            vars(instance)["_client"] = client
        return client


def boto3_client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]
