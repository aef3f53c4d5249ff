"""An order flagged for review counts in the OrdersNeedingReview metric, which its alarm watches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.merchant import confirm, stored_order


def emitted(output: str) -> dict[str, float]:
    """The metrics of the EMF records Powertools printed (name: summed value)."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return totals


def test_an_amount_mismatch_counts_an_order_needing_review(
    aws: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_order(aws, "RV1")
    capsys.readouterr()
    assert confirm(aws, lambda_context, reference="RV100", amount="1.00EUR")["statusCode"] == 200
    metrics = emitted(capsys.readouterr().out)
    assert metrics.get("OrdersNeedingReview") == 1
    assert aws.store.get("RV1").reviews


def test_a_plain_payment_counts_none(aws: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]) -> None:
    stored_order(aws, "RV2")
    capsys.readouterr()
    confirm(aws, lambda_context, reference="RV200")
    metrics = emitted(capsys.readouterr().out)
    assert metrics.get("Confirmations") == 1
    assert "OrdersNeedingReview" not in metrics
