"""What the local stack's background services share: threads that repeat a step until stopped, and the poller
behind Lambda's event source mappings (an SQS queue, a DynamoDB stream: one poller, two sources).

A step returns how much it handled: nothing handled, the thread pauses before the next step; a step that raises
(moto stopping under us, mostly) is reported and tried again a second later, until the service stops.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .host import Host


class Loops:
    """A service's background threads: ``start()`` one per step, ``stop()`` ends them all."""

    def __init__(self) -> None:
        self.stopping = threading.Event()  # a step that waits waits on this, so stop() cuts the wait short
        self._threads: list[threading.Thread] = []

    def start(
        self, name: str, step: Callable[[], int], *, idle_seconds: float, what: str, wait_first: bool = False
    ) -> None:
        """Repeat ``step`` in a thread called ``name``; ``what`` names it in an error; ``wait_first``: pause first."""
        thread = threading.Thread(
            target=self._repeat, args=(step, idle_seconds, what, wait_first), name=name, daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.stopping.clear()  # ready to start again

    def _repeat(self, step: Callable[[], int], idle_seconds: float, what: str, wait_first: bool) -> None:
        if wait_first and self.stopping.wait(idle_seconds):
            return
        while not self.stopping.is_set():
            try:
                if step() == 0:
                    self.stopping.wait(idle_seconds)
            except Exception as exc:
                if not self.stopping.is_set():
                    print(f"local: {what} failed: {exc}", file=sys.stderr)
                    self.stopping.wait(1)


class SourcePoller[S]:
    """Lambda's event source mapping, locally: a thread per source the template's functions listen to, each
    reading a batch and handing it to the function (``poll_once``) until the stack stops.

    A subclass says what its sources are (``sources``), how one batch is read and handed over (``poll_once``),
    and how a source is named in thread names and errors (``label``)."""

    name = "pollers"
    idle_seconds = 0.0  # the pause after a poll that found nothing

    def __init__(self) -> None:
        self._stack: Host | None = None
        self._loops = Loops()

    def sources(self, stack: Host) -> list[S]:
        raise NotImplementedError

    def poll_once(self, source: S) -> int:
        raise NotImplementedError

    def label(self, source: S) -> tuple[str, str]:
        """The source's thread name, and what failed when reading it fails."""
        raise NotImplementedError

    @property
    def stack(self) -> Host:
        if self._stack is None:
            raise RuntimeError(f"the {self.name} poller is not started")
        return self._stack

    @property
    def stopping(self) -> threading.Event:
        return self._loops.stopping

    def start(self, stack: Host) -> None:
        self._stack = stack
        for source in self.sources(stack):
            thread, what = self.label(source)
            self._loops.start(
                thread, functools.partial(self.poll_once, source), idle_seconds=self.idle_seconds, what=what
            )

    def stop(self) -> None:
        self._loops.stop()
