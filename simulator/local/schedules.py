"""Scheduled functions, run on a timer: moto keeps EventBridge rules but never fires them.

Every enabled ``Schedule`` / ``ScheduleV2`` event of the template's functions is run every
``interval`` seconds locally (whatever its rate in the template: local time is impatient), with the event
EventBridge would send (or the event's ``Input``). ``run_now()`` runs them all at once, for a local route.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stacktools.template import ScheduleEvent

from .polling import Loops

if TYPE_CHECKING:
    from .host import Host


def scheduled_event(
    schedule: ScheduleEvent, region: str, account_id: str, stack_name: str, at: datetime | None = None
) -> Any:
    """The event EventBridge sends for a schedule at ``at`` (default now), or the schedule's own ``Input``."""
    if schedule.input is not None:
        return json.loads(schedule.input)
    rule = f"{stack_name}-{schedule.function}{schedule.event}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{rule}"],
        "detail": {},
    }


def run_schedules_of(stack: Host, function: str, at: datetime | None = None) -> dict[str, Any]:
    """Run one function's schedules once (an on-demand one too), as if at ``at``; results by function.event."""
    config = stack.config
    results: dict[str, Any] = {}
    for schedule in stack.template.function(function).schedules:
        event = scheduled_event(schedule, config.region, config.account_id, config.stack_name, at)
        results[f"{function}.{schedule.event}"] = stack.invoke(function, event)
    return results


class ScheduleRunner:
    name = "schedules"

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._stack: Host | None = None
        self._loops = Loops()
        self._lock = threading.Lock()

    @property
    def schedules(self) -> list[ScheduleEvent]:
        if self._stack is None:
            return []
        on_demand = self._stack.config.on_demand_functions
        return [
            s
            for spec in self._stack.template.functions()
            for s in spec.schedules
            if s.enabled and spec.logical_id not in on_demand
        ]

    def start(self, stack: Host) -> None:
        self._stack = stack
        if self.schedules:
            self._loops.start(
                "local-schedules",
                self._tick,
                idle_seconds=self.interval_seconds,
                what="a scheduled run",
                wait_first=True,
            )

    def stop(self) -> None:
        self._loops.stop()

    def run_now(self, at: datetime | None = None) -> dict[str, Any]:
        """Run every enabled schedule once, as if at ``at`` (default now); each function's result by function.event."""
        stack = self._stack
        if stack is None:
            raise RuntimeError("the schedule runner is not started")
        results: dict[str, Any] = {}
        with self._lock:
            for schedule in self.schedules:
                key = f"{schedule.function}.{schedule.event}"
                config = stack.config
                event = scheduled_event(schedule, config.region, config.account_id, config.stack_name, at)
                try:
                    results[key] = stack.invoke(schedule.function, event)
                except Exception as exc:
                    print(f"local: scheduled {key} failed:", file=sys.stderr)
                    traceback.print_exc(file=sys.stderr)
                    results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        return results

    def _tick(self) -> int:
        self.run_now()
        return 0  # then wait the interval
