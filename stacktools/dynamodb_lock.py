"""moto's DynamoDB one request at a time, so that conditional writes and transactions are atomic as DynamoDB's are.

moto evaluates a ``ConditionExpression`` and then applies the write as two separate steps of Python, with nothing
held in between: two threads can both pass the check on the same item and both write (two winners of one
conditional ``UpdateItem``, a double transition). Its ``TransactWriteItems`` is no better, and a cancelled one
puts back a copy of the whole table taken when it began, erasing what other requests wrote meanwhile. Holding
one lock for the whole of each DynamoDB request makes every request happen before or after another, never
interleaved with it, which is what DynamoDB guarantees for a single item and for a transaction.

One lock per process, because moto's state is per process: the in-process ``mock_aws`` the tests use and the moto
server of the local stack share the same tables. Two places take it, both installed explicitly:

- ``serialised_dynamodb()`` for the in-process mock: a context manager that wraps moto's botocore stubber (the
  hook every mocked boto3 client goes through) and unwraps it on exit;
- ``SerialisedWsgi`` for the moto server: a WSGI middleware, put around moto's app by ``local.aws.MotoServer``.

Only DynamoDB (and DynamoDB Streams) requests take the lock. Some moto services call out over HTTP while they
answer (SNS delivering to an HTTP subscriber, for one); if such a request held the lock and the subscriber called
DynamoDB back, both would wait forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

# Re-entrant: a moto backend answering a DynamoDB request may itself reach DynamoDB in the same thread.
DYNAMODB_LOCK = threading.RLock()

# The JSON protocol's X-Amz-Target prefixes: "DynamoDB_20120810.UpdateItem", "DynamoDBStreams_20120810.GetRecords".
_TARGET_PREFIXES = ("DynamoDB_", "DynamoDBStreams_")


def is_dynamodb_target(target: str | bytes | None) -> bool:
    """Whether a request's ``X-Amz-Target`` header names a DynamoDB (or DynamoDB Streams) operation."""
    if isinstance(target, bytes):
        target = target.decode("latin-1")
    return bool(target) and str(target).startswith(_TARGET_PREFIXES)


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """Within: every DynamoDB request to the in-process moto (``mock_aws``) runs alone, under ``DYNAMODB_LOCK``.

    moto registers one stubber object as a botocore handler; its ``process_request`` answers each request. The
    wrapper is set on that object (an instance attribute, so the class is untouched) and removed on exit, which
    puts back whatever was there before (nesting works: the lock is re-entrant).
    """
    from moto.core.models import botocore_stubber  # imported here: moto is slow to import

    saved = vars(botocore_stubber).get("process_request")
    process_request: Callable[[Any], Any] = botocore_stubber.process_request

    def serialised(request: Any) -> Any:
        if not is_dynamodb_target(request.headers.get("X-Amz-Target")):
            return process_request(request)
        with DYNAMODB_LOCK:
            return process_request(request)

    botocore_stubber.process_request = serialised  # type: ignore[method-assign]
    try:
        yield
    finally:
        if saved is None:
            del botocore_stubber.process_request
        else:
            botocore_stubber.process_request = saved  # type: ignore[method-assign]


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedWsgi:
    """WSGI middleware: a DynamoDB request is answered, body included, while holding ``DYNAMODB_LOCK``."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_dynamodb_target(environ.get("HTTP_X_AMZ_TARGET")):
            return self.app(environ, start_response)
        with DYNAMODB_LOCK:
            answer = self.app(environ, start_response)
            try:
                # The body is read inside the lock: an app may do its work lazily, as the body is iterated.
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
