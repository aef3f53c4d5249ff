"""The daily reconciliation fanned out over a queue: a run's plan cut into parts, each part checked within its time
budget, its piece of the report kept in the bucket, and the run's report assembled from the pieces.

At a million orders a month a run asks the bank about some 100,000 sessions, 150 ms each: far more than one
function's 15 minutes. So a run is planned (``Reconciler.plan``: the orders to check, read from the indexes, no
bank call), its plan kept in the bucket (``runs/<run>/plan.json``) and its orders sent, ``PART_SIZE`` at a time, to
the reconciliation queue, whose consumer runs as many parts at once as the template allows (the event source's
maximum concurrency): that bounds the calls in flight toward the bank.

A part checks its orders in their order until its time budget is spent, then keeps what it checked as a piece of
the report (``runs/<run>/pieces/<first>-<end>.json``, positions in the plan) and sends the rest back to the queue as
a part of its own. Its pieces are its checkpoint: a part delivered again (SQS delivers at least once, and a part
whose function failed comes back) starts after the pieces already kept for it, so what was checked is not asked
again, and a part fully kept changes nothing. After each part, the pieces are looked at: once they cover the plan
from its first order to its last, the report is assembled in the plan's order (the same report a single run would
write) and written once to its key (``reconciliation/<day>/...json``, an S3 conditional write: of two parts ending
together only one writes it, and only that one tells the metrics and the bus). Once told, the run is marked so
(``runs/<run>/told.json``); a part that wrote the report and could not tell it (the bus failing) comes back from the
queue and tells it then, under the same event id.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import LazyClient
from .events import DomainEvent, EventPublisher
from .exceptions import QueueUnavailableError
from .reconciliation import Difference, Plan, Reconciler, Report, ReportBucket, new_report_key

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

PART_SIZE = 100  # orders a part checks: about 15 s of status calls, well inside a part's time budget
RUNS = "runs/"
REPORTED = "ReconciliationReported"
_RUN = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,12}")
_PIECE = re.compile(r"pieces/(\d{7})-(\d{7})\.json")


@dataclass(frozen=True)
class Part:
    """Orders of one run to check: ``references``, from position ``start`` of the run's plan."""

    run: str
    start: int
    references: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.references)

    def as_message(self) -> str:
        return json.dumps({"run": self.run, "start": self.start, "references": list(self.references)})

    @classmethod
    def from_message(cls, text: str) -> Part:
        """The part a queue message holds; ``ValueError`` saying what is wrong with one this code did not send."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError("a part is a JSON object") from None
        if not isinstance(data, dict) or set(data) != {"run", "start", "references"}:
            raise ValueError("a part holds run, start and references")
        run, start, references = data["run"], data["start"], data["references"]
        if not isinstance(run, str) or not _RUN.fullmatch(run):
            raise ValueError("run: not a run's id")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise ValueError("start: not a position in a plan")
        if not isinstance(references, list) or not references or len(references) > PART_SIZE:
            raise ValueError(f"references: from 1 to {PART_SIZE} orders")
        if not all(isinstance(r, str) and _REFERENCE.fullmatch(r) for r in references):
            raise ValueError("references: not order references")
        return cls(run, start, tuple(references))


class PartQueue:
    """The reconciliation queue (SQS): the parts of the runs to check."""

    client: LazyClient[Any] = LazyClient("sqs")

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self._client = client

    def send(self, parts: Sequence[Part]) -> None:
        """Send every part, ten to a request; ``QueueUnavailableError`` when any could not be."""
        for first in range(0, len(parts), 10):
            entries = [{"Id": str(n), "MessageBody": part.as_message()} for n, part in enumerate(parts[first:][:10])]
            try:
                answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise QueueUnavailableError(f"SQS SendMessageBatch failed: {exc}") from exc
            if answer.get("Failed"):
                failed = answer["Failed"][0]
                raise QueueUnavailableError(f"SQS SendMessageBatch refused a part: {failed.get('Message', failed)}")


@dataclass(frozen=True)
class Started:
    """A run planned and sent: its id, how many orders and parts, where its report will be; the report itself
    when there was nothing to check (then it is written already)."""

    run: str
    orders: int
    parts: int
    report_key: str
    report: Report | None = None

    def as_json(self) -> dict[str, Any]:
        return {"run": self.run, "orders": self.orders, "parts": self.parts, "report_key": self.report_key}


@dataclass(frozen=True)
class Assembled:
    """A run's report, written at ``key`` by the part that completed the run."""

    report: Report
    key: str


@dataclass(frozen=True)
class _Run:
    """A run's plan as kept in the bucket (its orders are in the parts)."""

    plan: Plan
    size: int
    report_key: str


class FannedOutRuns:
    """Runs planned by ``reconciler``, checked in parts from ``queue``, their pieces and reports in ``bucket``."""

    def __init__(
        self, reconciler: Reconciler, bucket: ReportBucket, queue: PartQueue, part_size: int = PART_SIZE
    ) -> None:
        self.reconciler = reconciler
        self.bucket = bucket
        self.queue = queue
        self.part_size = min(part_size, PART_SIZE)

    def start(self, plan: Plan) -> Started:
        """Keep ``plan`` and send its parts; with nothing to check, the (empty) report is written at once."""
        run = f"{plan.started_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        report_key = new_report_key(plan.report())
        size = len(plan.references)
        kept: dict[str, Any] = {"source": plan.source, "started_at": plan.started_at.isoformat(), "size": size}
        kept |= {"days": list(plan.days), "since": plan.since.isoformat() if plan.since else None}
        kept["report_key"] = report_key
        self.bucket.put_json(f"{RUNS}{run}/plan.json", kept)
        refs = plan.references
        parts = [Part(run, first, refs[first : first + self.part_size]) for first in range(0, size, self.part_size)]
        self.queue.send(parts)
        assembled = None if parts else self.assemble(run)
        return Started(run, size, len(parts), report_key, assembled.report if assembled else None)

    def check(self, part: Part, out_of_time: Callable[[], bool]) -> Assembled | None:
        """Check what of ``part`` no piece holds yet, until ``out_of_time()``; keep it as a piece and send the rest
        back to the queue. The run's report when this part completed it (and wrote it), else ``None``."""
        run = self._run(part.run)
        position = self._checked_up_to(part)
        if position < part.end:
            report = run.plan.report()
            todo = part.references[position - part.start :]
            count = self.reconciler.check_references(run.plan, todo, report, out_of_time)
            self._keep_piece(part.run, position, position + count, report)
            if count < len(todo):
                self.queue.send([Part(part.run, position + count, todo[count:])])
        return self.assemble(part.run, run)

    def assemble(self, run_id: str, run: _Run | None = None) -> Assembled | None:
        """The run's report, written to its key, once its pieces cover its plan; ``None`` while they do not, when
        another part wrote it first, or once it was told (``told``). A report written but not told yet (the bus
        failed on the part that wrote it, which comes back) is handed back again, to be told then."""
        run = run or self._run(run_id)
        if self.bucket.keys(_told_key(run_id)):
            return None  # assembled and told already
        written_before = bool(self.bucket.keys(run.report_key))
        path = _covering(self._pieces(run_id), run.size)
        if path is None:
            return None
        report = run.plan.report()
        for first, end in path:
            piece = self.bucket.get_json(_piece_key(run_id, first, end))
            report.checked += int(piece["checked"])
            report.differences.extend(Difference(**d) for d in piece["differences"])
            report.failures.update(piece["failures"])
        if written_before:
            return Assembled(report, run.report_key)
        written = self.bucket.put_json(run.report_key, report.as_json(), only_if_new=True)
        return Assembled(report, run.report_key) if written else None

    def told(self, run_id: str) -> None:
        """The run's report was told to the metrics and the bus: no part hands it back again."""
        self.bucket.put_json(_told_key(run_id), {"told": True}, only_if_new=True)

    def _run(self, run_id: str) -> _Run:
        kept = self.bucket.get_json(f"{RUNS}{run_id}/plan.json")
        since = date.fromisoformat(kept["since"]) if kept["since"] else None
        started = datetime.fromisoformat(kept["started_at"])
        plan = Plan(kept["source"], started, tuple(kept["days"]), since, ())
        return _Run(plan, int(kept["size"]), str(kept["report_key"]))

    def _pieces(self, run_id: str) -> dict[int, set[int]]:
        """The pieces kept for ``run_id``: their ends by first position."""
        pieces: dict[int, set[int]] = {}
        prefix = f"{RUNS}{run_id}/"
        for key in self.bucket.keys(f"{prefix}pieces/"):
            found = _PIECE.fullmatch(key.removeprefix(prefix))
            if found:
                pieces.setdefault(int(found[1]), set()).add(int(found[2]))
        return pieces

    def _checked_up_to(self, part: Part) -> int:
        """Where ``part``'s checks resume: after the pieces kept from its start, one after the other."""
        pieces = self._pieces(part.run)
        position = part.start
        while ends := [end for end in pieces.get(position, ()) if position < end <= part.end]:
            position = max(ends)
        return position

    def _keep_piece(self, run_id: str, first: int, end: int, report: Report) -> None:
        piece = {"checked": report.checked, "differences": [d.as_json() for d in report.differences]}
        piece["failures"] = report.failures
        self.bucket.put_json(_piece_key(run_id, first, end), piece)


def _told_key(run_id: str) -> str:
    return f"{RUNS}{run_id}/told.json"


def _piece_key(run_id: str, first: int, end: int) -> str:
    return f"{RUNS}{run_id}/pieces/{first:07d}-{end:07d}.json"


def _covering(pieces: dict[int, set[int]], size: int) -> list[tuple[int, int]] | None:
    """Pieces that follow one another from the plan's first order to its last, or ``None`` (a part delivered twice
    at once may have kept two pieces from one position: either way on is as good)."""
    stack: list[tuple[int, list[tuple[int, int]]]] = [(0, [])]
    visited: set[int] = set()
    while stack:
        position, path = stack.pop()
        if position == size:
            return path
        if position in visited:
            continue
        visited.add(position)
        for end in sorted(pieces.get(position, ())):
            if position < end <= size:
                stack.append((end, [*path, (position, end)]))
    return None


def announce(report: Report, key: str, publisher: EventPublisher, metrics: Metrics) -> dict[str, Any]:
    """Count a report written at ``key`` in ``metrics`` (the unrepaired differences and the failures are alarmed)
    and, when something differed, tell the bus (``ReconciliationReported``); the report as JSON, with its key."""
    from aws_lambda_powertools.metrics import MetricUnit  # the functions that announce reports have it loaded

    data = {**report.as_json(), "report_key": key}
    unrepaired = sum(1 for d in report.differences if not d.repaired)
    metrics.add_metric(name="ReconciliationChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="ReconciliationRepaired", unit=MetricUnit.Count, value=data["repaired"])
    metrics.add_metric(name="ReconciliationDifferences", unit=MetricUnit.Count, value=unrepaired)
    metrics.add_metric(name="ReconciliationFailures", unit=MetricUnit.Count, value=len(report.failures))
    if report.differences or report.failures:
        summary = {name: data[name] for name in ("source", "days", "checked", "repaired", "report_key")}
        detail = {**summary, "differences": len(report.differences), "failures": len(report.failures)}
        detail["event_id"] = f"reconciliation/{key}"
        publisher.publish([DomainEvent(REPORTED, "", report.started_at, detail)])
    return data
