"""Both ends of the bank's CSV export of payments: the sandbox dashboard's export of a day, posted to the kit's
``POST /reconciliation/captures``, gives no difference when the day is consistent and the right differences when
the file is doctored (a doubled capture, a changed amount, a missing line, an unknown reference)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import call, checkout_and_pay, create, dashboard, paid_order


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def imported(system: FullStack, data: bytes) -> dict[str, Any]:
    status, _, text = call(f"{system.api}/reconciliation/captures", data, "text/csv")
    assert status == 200, text
    return dict(json.loads(text))


def test_the_sandbox_export_of_a_day_reconciles_and_a_doctored_one_differs(system: FullStack) -> None:
    first, first_session = paid_order(system, "0900157")
    second, second_session = paid_order(system, "0900157")
    checkout_and_pay(system, create(system, tpe="0900157"), number="4000000000000002")  # refused: not collected
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date()
    browser = dashboard(system, "0900157")
    status, headers, export = browser.open(f"/test/gestion/export?du={today.isoformat()}&au={today.isoformat()}")
    assert status == 200, export
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    lines = export.splitlines(keepends=True)
    assert len(lines) == 3
    assert sum(1 for line in lines if ";PA;" in line) == 2

    report = imported(system, export.encode())
    assert report["source"] == "console-import-csv"
    assert (report["days"], report["differences"]) == ([today.isoformat()], [])

    (first_line,) = [line for line in lines if f";{first_session};" in line]
    (second_line,) = [line for line in lines if f";{second_session};" in line]
    refused = [line for line in lines if ";PA;" not in line]
    unknown = first_line.replace(first_session, "NOSUCHORDER00")
    doctored = [first_line, first_line, second_line.replace(";62.73;EUR;", ";72.73;EUR;"), unknown, *refused]
    report = imported(system, "".join(doctored).encode("latin-1"))
    found = {d["reference"]: (d["kind"], d["detail"]) for d in report["differences"]}
    assert found.keys() == {first, second, "NOSUCHORDER00"}
    assert found["NOSUCHORDER00"][0] == "captured_unknown_order"
    assert found[first] == (
        "captured_amount_differs",
        f"on {today.isoformat()} the bank collected 125.46 EUR for {first} (125.46 EUR under {first_session}), "
        f"the books 62.73 EUR (62.73 EUR under {first_session})",
    )
    assert "the bank collected 72.73 EUR" in found[second][1]

    report = imported(system, first_line.encode())  # the second payment's line left out
    assert [(d["reference"], d["kind"]) for d in report["differences"]] == [(second, "captured_amount_differs")]
    assert f"the bank collected nothing for {second}, the books 62.73 EUR" in report["differences"][0]["detail"]
