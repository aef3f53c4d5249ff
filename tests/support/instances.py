"""Handlers called from several threads at once, the Lambda way: each concurrent caller has an instance of its own.

Lambda runs one event at a time per execution environment, and events that arrive together get environments of
their own, so a handler never answers two events at once. ``Instances`` keeps the functions' instances the tests
invoke that way: a call takes an idle one (a warm start) or, when every one is busy, a new one (the function's
module imported afresh: a cold start); ``at_once`` releases calls together. The functional tests' ``aws.invoke``
goes through one ``Instances``, so a test that invokes from several threads needs nothing more.

(The instances share one process here, and with it what Powertools keeps per process, such as its metrics: a test
of hundreds of events at once on one order calls the use case, not the handler.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

from tests.support.aws import load_function


class Instances:
    """The functions' idle instances (their ``app`` modules), by function (its directory under functions/)."""

    def __init__(self, load: Callable[[str], ModuleType] = load_function) -> None:
        self._load = load
        self._idle: dict[str, list[ModuleType]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def instance(self, function: str) -> Iterator[ModuleType]:
        """An instance of ``function`` that handles nothing else until the block ends."""
        with self._lock:
            idle = self._idle.setdefault(function, [])
            module = idle.pop() if idle else None
        if module is None:
            module = self._load(function)
        try:
            yield module
        finally:
            with self._lock:
                self._idle[function].append(module)


def at_once[T](calls: Sequence[Callable[[], T]], timeout: float = 60) -> list[T]:
    """Every call in its own thread, released together: each one's answer, in the calls' order. A call that raised
    fails the whole, once every thread has ended (its exception is raised, not lost with its thread)."""
    start = threading.Barrier(len(calls))
    answers: dict[int, T] = {}
    failures: list[Exception] = []

    def run(index: int, call: Callable[[], T]) -> None:
        start.wait()
        try:
            answers[index] = call()
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if failures:
        raise failures[0]
    assert len(answers) == len(calls), f"{len(calls) - len(answers)} of {len(calls)} calls still running"
    return [answers[index] for index in range(len(calls))]
