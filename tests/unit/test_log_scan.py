"""The log scan finds the test secrets in any spelling it may be logged in, and nothing in ordinary lines."""

from __future__ import annotations

import pytest

from tests.support.log_scan import leaks


@pytest.mark.parametrize(
    "line",
    [
        "key=12345678901234567890123456789012345678P0",
        "raw 1234567890123456789012345678901234567890",
        '{"numero": "4111111111111111"}',
        "card=5555555555554444&exp=12/28",
        "cvv=123",
        '{"CVV": "1234"}',
        "cryptogramme: 999",
    ],
)
def test_a_secret_is_found(line: str) -> None:
    assert leaks(line)
    assert all("1111111111" not in label and "P0" not in label for label in leaks(line))  # never repeated


@pytest.mark.parametrize(
    "line", ["cvx=oui&vld=1228", "montant=62.73EUR reference=EVTSAMPLE000", "bincb=411111", "numauto=123456"]
)
def test_an_ordinary_line_is_not(line: str) -> None:
    assert leaks(line) == []
