"""X-Ray subsegments around the orders layer's calls out of the function: the bank's back office and DynamoDB.

The store and the bank client are given a ``Traces`` (``orders.dependencies`` builds it from the environment):
``NO_TRACES`` records nothing (the tests, the local stack, the command line); ``XRayTraces`` records through
Powertools' Tracer, in Lambda, for the invocations X-Ray samples. Lambda says per invocation whether it is sampled
(``Sampled=1`` in ``_X_AMZN_TRACE_ID``, the decision API Gateway's sampling rule made upstream); the X-Ray SDK is
imported, and the Tracer built, at the first sampled invocation only, so a cold start whose request is not sampled
does not pay for it.

A subsegment is named by what it does (``bank.capture``, ``dynamodb.update_item``) and annotated with what is safe
to index and search: the terminal (TPE), the order's reference, the outcome. Never the bank key, a seal (MAC), card
data or a request's fields. A failure is said by the ``outcome`` annotation and, when the call did not get a definite
answer, the fault flag; the exception itself is not recorded (its message could quote a request).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

TRACE_HEADER = "_X_AMZN_TRACE_ID"  # Lambda's trace header for the current invocation (AWS Lambda developer guide)
# What a call came to: the outcome annotation of its subsegment, from the exception it raised (None: it returned).
Outcome = Callable[[BaseException | None], str]


class Subsegment(Protocol):
    """What is used of an X-Ray subsegment (aws_xray_sdk's ``Subsegment``, Powertools' ``BaseSegment``)."""

    def put_annotation(self, key: str, value: Any) -> None: ...

    def add_fault_flag(self) -> None: ...


class Recorder(Protocol):
    """What is used of an X-Ray recorder (aws_xray_sdk's ``xray_recorder``, Powertools' tracing provider)."""

    def in_subsegment(self, name: str) -> AbstractContextManager[Subsegment | None]: ...


class Traces:
    """Subsegments through the recorder of the current invocation, if it is traced. This one records nothing."""

    def recorder(self) -> Recorder | None:
        """The recorder for the current invocation; ``None`` when it is not traced."""
        return None

    @contextmanager
    def subsegment(self, name: str, outcome: Outcome, faults: frozenset[str], **annotations: str) -> Iterator[None]:
        """A subsegment ``name`` around the block, annotated with ``annotations`` and the block's ``outcome``
        (flagged a fault when it is one of ``faults``). Whatever the block raises is raised unchanged."""
        recorder = self.recorder()
        if recorder is None:
            yield
            return
        failure: BaseException | None = None
        with recorder.in_subsegment(name) as subsegment:
            try:
                yield
            except BaseException as exc:  # said by the outcome, raised again once the subsegment is closed
                failure = exc
            if subsegment is not None:
                for key, value in annotations.items():
                    if value:
                        subsegment.put_annotation(key, value)
                said = outcome(failure)
                subsegment.put_annotation("outcome", said)
                if said in faults:
                    subsegment.add_fault_flag()
        if failure is not None:
            raise failure


NO_TRACES = Traces()


def outcomes(done: str, failures: Mapping[type[BaseException], str], otherwise: str = "failed") -> Outcome:
    """The outcome of a call: ``done`` when it returned, else the label of the first of ``failures`` the exception
    is an instance of, else ``otherwise``."""

    def outcome(failure: BaseException | None) -> str:
        if failure is None:
            return done
        return next((label for kind, label in failures.items() if isinstance(failure, kind)), otherwise)

    return outcome


class XRayTraces(Traces):
    """X-Ray through Powertools' Tracer, for the invocations Lambda samples. ``environ``: where Lambda puts each
    invocation's trace header (the process's environment); ``tracer``: makes the recorder, once (a test's own)."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, tracer: Callable[[], Recorder | None] | None = None
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._make = tracer or powertools_recorder
        self._made: list[Recorder | None] = []
        self._lock = threading.Lock()

    def recorder(self) -> Recorder | None:
        if "Sampled=1" not in self._environ.get(TRACE_HEADER, "").split(";"):
            return None
        if not self._made:
            with self._lock:
                if not self._made:
                    self._made.append(self._make())
        return self._made[0]


def powertools_recorder() -> Recorder | None:
    """Powertools' Tracer's recorder (aws_xray_sdk's), with botocore patched: every AWS call of a sampled invocation is
    a subsegment of its own too (a node of the X-Ray service map). ``None`` when the Tracer is disabled (by
    ``POWERTOOLS_TRACE_DISABLED``, or outside Lambda)."""
    from aws_lambda_powertools import Tracer

    tracer = Tracer(patch_modules=("botocore",))
    if tracer.disabled:
        return None
    recorder: Recorder = tracer.provider  # type: ignore[assignment]
    return recorder
