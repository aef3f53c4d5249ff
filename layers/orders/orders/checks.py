"""What the go-live check and the smoke test report: each point, whether it holds, and what to do when it does not;
the last run of each kept per terminal (in the reports bucket, ``checks/<tpe>/golive.json`` and
``checks/<tpe>/smoke.json``: when, by what, each point; never a key, which no point's detail holds); and the one way
both reach the deployed API (HTTP, redirects not followed: the bank follows none)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # what to do when it fails, one line

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


RUNS = ("golive", "smoke")
RESULTS = "checks/"


class ResultsBucket(Protocol):
    """Where the last runs are kept (``orders.reconciliation.ReportBucket``)."""

    def put_json(self, key: str, data: Any, *, only_if_new: bool = False) -> bool: ...

    def get_json(self, key: str) -> Any: ...

    def keys(self, prefix: str) -> list[str]: ...


@dataclass(frozen=True)
class CheckRun:
    """One run of the go-live check (``kind="golive"``) or of the smoke test (``"smoke"``) on a terminal."""

    tpe: str
    kind: str
    at: datetime
    by: str  # what ran it: the API's route, or the command line
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "tpe": self.tpe,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "by": self.by,
            "passed": self.passed,
            "checks": [check.as_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, data: Any) -> CheckRun:
        """A run as ``as_json`` wrote it; ``ValueError`` for anything else."""
        try:
            checks = tuple(
                Check(str(c["name"]), bool(c["ok"]), str(c["detail"]), str(c.get("fix", ""))) for c in data["checks"]
            )
            return cls(str(data["tpe"]), str(data["kind"]), datetime.fromisoformat(data["at"]), str(data["by"]), checks)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a kept check run: {exc}") from None


def result_key(tpe: str, kind: str) -> str:
    return f"{RESULTS}{tpe}/{kind}.json"


def keep_run(bucket: ResultsBucket, run: CheckRun) -> str:
    """Keep ``run`` as the terminal's last of its kind (over the one before): where it is kept."""
    key = result_key(run.tpe, run.kind)
    bucket.put_json(key, run.as_json())
    return key


def last_runs(bucket: ResultsBucket, tpe: str) -> dict[str, CheckRun]:
    """The terminal's last go-live check and smoke test kept, by kind (one listing, a read per run kept); a file
    that is not a run is left out."""
    found: dict[str, CheckRun] = {}
    for key in bucket.keys(f"{RESULTS}{tpe}/"):
        kind = key.removeprefix(f"{RESULTS}{tpe}/").removesuffix(".json")
        if kind in RUNS:
            try:
                found[kind] = CheckRun.from_json(bucket.get_json(key))
            except ValueError:
                continue
    return found


def render(
    checks: Sequence[Check], out: TextIO, verdicts: tuple[str, str] = ("ready for production", "not ready yet")
) -> bool:
    """Print each check, and the fix of each one failing; the first verdict when all hold, else the second."""
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name}: {check.detail}", file=out)
        if not check.ok and check.fix:
            print(f"     -> {check.fix}", file=out)
    passed = all(check.ok for check in checks)
    print(verdicts[0] if passed else verdicts[1], file=out)
    return passed


Probe = Callable[[str, bytes], tuple[int, str]]  # POST body to URL, redirects not followed: (status, body)
Http = Callable[[str, str, bytes | None], tuple[int, str]]  # (method, URL, body): (status, body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer of its own: the bank does not follow it


def http_call(method: str, url: str, body: bytes | None = None) -> tuple[int, str]:
    """One request to the merchant's own API, as the bank or a buyer's browser makes it, without following a
    redirect; a form body is sent as the bank sends it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - the stack's URL
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status), answer.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(65536).decode("utf-8", "replace")


def http_probe(url: str, body: bytes) -> tuple[int, str]:
    """POST ``body`` to ``url`` as the bank does, without following a redirect."""
    return http_call("POST", url, body)
