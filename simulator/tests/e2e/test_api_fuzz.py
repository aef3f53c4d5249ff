"""schemathesis on the merchant API, from docs/openapi.yaml, against the local stack (in this process): positive
and negative cases for every JSON operation. No 5xx, ever; every 4xx names the field at fault.

The example count is small for CI; FUZZ_EXAMPLES raises it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from local import LocalConfig, LocalStack

OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
# The merchant API answers JSON; the checkout page (HTML), CGI2 (the bank's protocol) and the import of the bank's
# XML file (tests/functional/test_reconciliation.py) have their own tests.
NOT_JSON = {"GET /checkout/{token}", "POST /confirmation", "POST /reconciliation/captures"}
JSON_OPERATIONS = [
    result.ok()
    for result in schemathesis.openapi.from_path(OPENAPI).get_all_operations()
    if result.ok().label not in NOT_JSON
]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack.base_url


# A path parameter is any string: these routes have no invalid input to generate, only valid ones.
# Operations with nothing but a path to get wrong (or nothing at all): no negative case can be made of them.
ONLY_A_PATH = {"GET /orders/{reference}", "GET /terminals/{tpe}/golive", "POST /terminals/{tpe}/smoke", "GET /keys"}
CASES = [
    (operation, mode)
    for operation in JSON_OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (operation.label in ONLY_A_PATH and mode is GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=lambda value: getattr(value, "label", None) or value.value)
def test_no_5xx_and_every_4xx_names_its_field(base_url: str, operation: Any, mode: GenerationMode) -> None:
    session = requests.Session()

    @settings(
        max_examples=max(EXAMPLES // 30, 5),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30)
        where = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:300]}"
        assert response.status_code < 500, where
        if response.status_code >= 400 and response.status_code != 409:
            error = response.json()["error"]
            assert isinstance(error["message"], str), where
            assert isinstance(error.get("field"), str), where
            assert error["field"], where

    run()


def test_the_operations_are_all_covered() -> None:
    assert {operation.label for operation in JSON_OPERATIONS} == {
        "POST /orders", "GET /orders", "GET /orders/{reference}", "POST /orders/{reference}/capture",
        "POST /orders/{reference}/cancel", "POST /orders/{reference}/refund", "GET /books/captures",
        "GET /books/refunds", "POST /reconciliation", "GET /terminals/{tpe}/golive", "POST /terminals/{tpe}/smoke",
        "POST /keys", "GET /keys", "POST /keys/{id}/revoke", "GET /attention", "POST /orders/{reference}/reviewed",
    }  # fmt: skip
