"""The confirmation queue: where CGI2 puts the exact bytes of a confirmation it could not store.

A queued confirmation is only bytes and the time it arrived. Nothing in it is trusted: whoever applies it
checks its seal again, from those bytes, exactly as CGI2 does. Retries back off exponentially (the message
comes back later each time) until the queue's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import LazyClient
from .exceptions import QueueUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600  # past a few tries, once an hour until the redrive policy gives up
# The API request CGI2 queued it in (API Gateway's request id, its log lines' correlation id), beside the body.
CORRELATION_ATTRIBUTE = "correlation_id"


@dataclass(frozen=True)
class QueuedConfirmation:
    """The bytes the bank posted and when CGI2 received them; ``correlation_id``: the API request it came in (a
    message attribute, not part of the body)."""

    body: bytes
    received_at: datetime
    correlation_id: str = ""

    def to_message(self) -> str:
        return json.dumps(
            {"body": base64.b64encode(self.body).decode("ascii"), "received_at": self.received_at.isoformat()}
        )

    @classmethod
    def from_message(cls, text: str) -> QueuedConfirmation:
        """Read a message back; ``ValueError`` if it is not one this module wrote."""
        try:
            data = json.loads(text)
            body = base64.b64decode(data["body"], validate=True)
            received_at = datetime.fromisoformat(data["received_at"])
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise ValueError(f"not a queued confirmation: {exc}") from None
        if received_at.tzinfo is None:
            raise ValueError("not a queued confirmation: received_at has no time zone")
        return cls(body, received_at)


def correlation_id(record: dict[str, Any]) -> str | None:
    """The API request id a message of the queue came with, from Lambda's SQS record; ``None`` when it has none."""
    attribute = (record.get("messageAttributes") or {}).get(CORRELATION_ATTRIBUTE) or {}
    return attribute.get("stringValue") or None


def retry_delay(receive_count: int) -> int:
    """Seconds before a message that failed ``receive_count`` times is tried again: 30 s, 60 s, 120 s..."""
    exponent = min(max(receive_count - 1, 0), 20)
    return min(RETRY_BASE_SECONDS * (1 << exponent), RETRY_MAX_SECONDS)


class ConfirmationQueue:
    """The SQS queue, encrypted at rest by the template; every failure is ``QueueUnavailableError``."""

    client: LazyClient[SQSClient] = LazyClient("sqs")

    def __init__(self, url: str, client: SQSClient | None = None) -> None:
        self.url = url
        self._client = client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(QueueUrl=self.url, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailableError(f"SQS {operation} failed: {exc}") from exc

    def put(self, confirmation: QueuedConfirmation) -> str:
        """Queue a confirmation; returns the message id once SQS has it (durably stored)."""
        attributes = {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": confirmation.correlation_id}}
        answer = self._call(
            "send_message",
            MessageBody=confirmation.to_message(),
            MessageAttributes=attributes if confirmation.correlation_id else {},
        )
        return str(answer["MessageId"])

    def retry_later(self, receipt_handle: str, receive_count: int) -> None:
        """Make a message that failed come back after ``retry_delay`` (exponential backoff)."""
        self._call(
            "change_message_visibility", ReceiptHandle=receipt_handle, VisibilityTimeout=retry_delay(receive_count)
        )
