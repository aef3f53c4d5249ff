"""The sandbox bank's terminal file: read by the same code as the merchant's, as a test server's terminals."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.terminals import BankConfig, ConfigurationError
from sealing import Environment

TERMINAL = {
    "key": "12345678901234567890123456789012345678P0",
    "societe": "boutiqueducd",
    "cgi2_url": "http://127.0.0.1:3000/confirmation",
}


def config(**changes: Any) -> BankConfig:
    return BankConfig.from_mapping({"terminals": {"0900157": {**TERMINAL, **changes}}})


def test_the_sandbox_is_a_test_server_its_terminals_need_not_say_so() -> None:
    terminal = config().terminals["0900157"].terminal
    assert terminal.environment is Environment.TEST
    assert config(environment="test").terminals["0900157"].terminal.environment is Environment.TEST


def test_a_production_terminal_is_refused_by_the_sandbox() -> None:
    with pytest.raises(ConfigurationError, match=r"^terminals\.0900157\.environment: "):
        config(environment="production")


def test_without_a_currency_contract_the_sandbox_takes_euros_only() -> None:
    assert config().terminals["0900157"].terminal.currencies == ("EUR",)
    assert config(currencies=["EUR", "USD"]).terminals["0900157"].terminal.currencies == ("EUR", "USD")


@pytest.mark.parametrize("text", ["", "[]", "[" * 20_000])
def test_a_file_that_is_not_a_configuration_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError):
        BankConfig.from_json(text)
