"""A function's instances, as Lambda runs them: each one handles one event at a time, and an event that finds
every instance busy gets a new one, up to a few per function; past that it waits for one to be free.

An instance is what a new execution environment makes: the function's handler module imported afresh (its own
module globals: logger, metrics, resolver) and its handler built on dependencies of its own. So no function has
to be safe for two events at once in one instance, locally as on Lambda.

One process hosts every instance here, where Lambda gives each its own. Powertools' REST resolver keeps the
request it is answering on a class shared by the whole process (``BaseRouter.current_event``): right for Lambda,
wrong for two instances answering at once here. ``PerThreadRouterState`` keeps it per thread instead (an
invocation runs on one thread from start to end), for the simulator alone: the kit uses the resolver unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LambdaHandler = Callable[[dict[str, Any], Any], Any]

INSTANCES_PER_FUNCTION = 4


@dataclass
class Instance:
    """One execution environment of a function: its handler, and whether it is handling an event (one at most)."""

    number: int
    handler: LambdaHandler
    busy: bool = False
    events: int = 0  # handled so far


@dataclass
class FunctionInstances:
    """A function's instances, made by ``new_instance`` when an event finds all of them busy (at most ``size``)."""

    new_instance: Callable[[int], LambdaHandler]  # the instance's number -> its handler
    size: int = INSTANCES_PER_FUNCTION
    instances: list[Instance] = field(default_factory=list)
    _free: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _starting: int = field(default=0, repr=False)  # instances being made
    _made: int = field(default=0, repr=False)  # the last instance's number

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size: a function needs at least one instance, not {self.size}")
        PerThreadRouterState.install()

    def warm(self) -> Instance:
        """An instance made now, before any event (a handler that cannot be imported fails the start)."""
        with self._free:
            self._starting += 1
            number = self._made = self._made + 1
        return self._started(number, busy=False)

    def invoke(self, event: Any, context: Any) -> Any:
        instance = self._take()
        try:
            return instance.handler(event, context)
        finally:
            with self._free:
                instance.busy = False
                self._free.notify()

    def _take(self) -> Instance:
        with self._free:
            while True:
                idle = next((instance for instance in self.instances if not instance.busy), None)
                if idle is not None:
                    idle.busy, idle.events = True, idle.events + 1
                    return idle
                if len(self.instances) + self._starting < self.size:
                    self._starting += 1
                    number = self._made = self._made + 1
                    break
                self._free.wait()
        return self._started(number, busy=True)

    def _started(self, number: int, *, busy: bool) -> Instance:
        """Instance ``number`` made (a cold start: outside the lock, the other instances keep answering)."""
        try:
            instance = Instance(number, self.new_instance(number), busy=busy, events=int(busy))
        except BaseException:
            with self._free:
                self._starting -= 1
                self._free.notify()
            raise
        with self._free:
            self._starting -= 1
            self.instances.append(instance)
        return instance


class _PerThread:
    """A class attribute whose value is each thread's own."""

    def __init__(self, name: str, values: threading.local) -> None:
        self.name = name
        self.values = values

    def __get__(self, owner_instance: object, owner: type | None = None) -> Any:
        try:
            return getattr(self.values, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, owner_instance: object, value: Any) -> None:
        setattr(self.values, self.name, value)


class PerThreadRouterState:
    """Powertools' resolver state of the invocation in progress (``current_event``, ``lambda_context``), which it
    assigns on its ``BaseRouter`` class, kept per thread: set on the class (as ``resolve`` does) or read through a
    resolver, it is the calling thread's."""

    NAMES = ("current_event", "lambda_context")
    _installed = False
    _lock = threading.Lock()

    @classmethod
    def install(cls) -> None:
        with cls._lock:
            if cls._installed:
                return
            from abc import ABCMeta

            from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

            values = threading.local()
            attributes = {name: _PerThread(name, values) for name in cls.NAMES}
            for name, attribute in attributes.items():
                setattr(BaseRouter, name, attribute)  # read through an instance: the class's attribute
            # Set on the class itself (``BaseRouter.current_event = ...``): the metaclass's attribute decides.
            setattr(BaseRouter, "__class__", type("PerThreadRouterMeta", (ABCMeta,), dict(attributes)))  # noqa: B010
            cls._installed = True
