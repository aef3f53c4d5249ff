"""The contract and terminal configuration shared by the merchant's stack and the sandbox bank."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sealing import (
    ConfigurationError,
    Contract,
    EndPolicy,
    Environment,
    PaymentMode,
    deferral_deadline,
    terminal_from_mapping,
)

KEY = "12345678901234567890123456789012345678P0"


def test_contract_defaults_and_deferred_authorization_always_cancels() -> None:
    assert Contract.from_mapping({}, "t") == Contract(PaymentMode.IMMEDIATE, 0, EndPolicy.VALIDATE)
    raw = {"mode": "deferred_authorization", "deferral_days": 7, "end_policy": "validate"}
    assert Contract.from_mapping(raw, "t") == Contract(PaymentMode.DEFERRED_AUTHORIZATION, 7, EndPolicy.CANCEL)


@pytest.mark.parametrize(
    ("raw", "named"),
    [({"mode": "later"}, "t.mode"), ({"deferral_days": 8}, "t.deferral_days"), ({"end_policy": "x"}, "t.end_policy")],
)
def test_contract_errors_name_the_setting(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(named)):
        Contract.from_mapping(raw, "t")


def test_terminal_errors_never_show_the_key() -> None:
    with pytest.raises(ConfigurationError, match=r"terminals\.1\.societe") as error:
        terminal_from_mapping("1234567", {"key": KEY, "societe": "", "environment": "test"}, "terminals.1")
    assert KEY not in str(error.value)


def test_environment_is_required_unless_the_side_has_only_one() -> None:
    raw = {"key": KEY, "societe": "monSite1"}
    with pytest.raises(
        ConfigurationError, match=r'^terminals\.1\.environment: is required \("test" or "production"\)$'
    ):
        terminal_from_mapping("1234567", raw, "terminals.1")
    assert terminal_from_mapping("1234567", raw, "t", environment=Environment.TEST).environment is Environment.TEST
    production = {**raw, "environment": "production"}
    assert terminal_from_mapping("1234567", production, "t").environment is Environment.PRODUCTION
    with pytest.raises(ConfigurationError, match=r"^t\.environment: "):
        terminal_from_mapping("1234567", production, "t", environment=Environment.TEST)


def test_deadline_skips_weekends_and_the_holidays_it_is_given() -> None:
    paris = ZoneInfo("Europe/Paris")
    friday = datetime(2026, 12, 18, 15, 0, tzinfo=paris)
    no_holidays = deferral_deadline(friday, 3, "Europe/Paris", lambda day: False)
    assert no_holidays == datetime(2026, 12, 24, 0, 0, tzinfo=paris)  # Mon, Tue, Wed -> midnight
    christmas = deferral_deadline(friday, 5, "Europe/Paris", lambda day: day == date(2026, 12, 25))
    assert christmas == datetime(2026, 12, 29, 0, 0, tzinfo=paris)  # Mon..Thu, not Fri 25, then Mon 28
