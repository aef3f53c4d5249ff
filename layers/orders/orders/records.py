"""The one shape of the functions fed a batch of records (an SQS queue, a DynamoDB stream): each record handled by
one function, and Lambda's partial batch response (``ReportBatchItemFailures``) naming the records not done.

    def handler(event, context):
        return batch_response(event, lambda record: apply(deps, record), logger, ordered=False)

``handle(record)`` says whether the record is done with; one that is not (``False``, or an exception, logged with its
traceback) is named by its id: an SQS message's ``messageId``, a stream record's sequence number. A stream's records
are ``ordered``: the first one not done leaves the rest, and Lambda hands them over again from it, in order; a
queue's are each on their own (a failed message comes back alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

Record = dict[str, Any]


def record_id(record: Record) -> str:
    """The id Lambda's partial batch response names a record by."""
    if "messageId" in record:
        return str(record["messageId"])
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def batch_response(
    event: Mapping[str, Any], handle: Callable[[Record], bool], logger: Logger, *, ordered: bool
) -> dict[str, Any]:
    """Each record of ``event`` handled by ``handle``; the ones not done, for Lambda to hand over again."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        try:
            done = handle(record)
        except Exception:  # one record's surprise: that record is not done, the others are still handled
            logger.exception("record not handled", extra={"record": record_id(record)})
            done = False
        if not done:
            failures.append({"itemIdentifier": record_id(record)})
            if ordered:
                break
    return {"batchItemFailures": failures}
