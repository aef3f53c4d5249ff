"""The bank's date shapes, declared once: what sealing writes is what both sides' checks accept."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealing import (
    BILLING_REQUIRED,
    CONFIRMATION_DATE_FORMAT,
    DAY_FORMAT,
    DAY_PATTERN,
    ORDER_DATE_FORMAT,
    ORDER_DATE_PATTERN,
    FieldError,
    format_day,
    format_order_date,
    order_context,
    parse_confirmation_date,
)


@given(st.datetimes(min_value=datetime(1000, 1, 1)))
def test_every_order_date_written_has_the_checked_shape(moment: datetime) -> None:
    assert ORDER_DATE_PATTERN.fullmatch(format_order_date(moment))
    assert DAY_PATTERN.fullmatch(format_day(moment.date()))


@pytest.mark.parametrize("text", ["5/12/2006", "05/12/06", "2006-12-05", "05/12/2006 ", "05-12-2006"])
def test_a_day_of_another_shape_is_refused(text: str) -> None:
    assert not DAY_PATTERN.fullmatch(text)


@pytest.mark.parametrize("text", ["05/12/2006", "05/12/2006:11:55", "05/12/2006_a_11:55:23", "5/12/2006:11:55:23"])
def test_an_order_date_of_another_shape_is_refused(text: str) -> None:
    assert not ORDER_DATE_PATTERN.fullmatch(text)


@pytest.mark.parametrize("missing", BILLING_REQUIRED)
def test_each_required_billing_field_is_named_when_missing(missing: str) -> None:
    billing = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}
    assert set(billing) == set(BILLING_REQUIRED)
    with pytest.raises(FieldError) as error:
        order_context({name: value for name, value in billing.items() if name != missing})
    assert error.value.field == f"billing.{missing}"


def test_the_exported_formats_write_what_the_patterns_and_parsers_read() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5)
    assert ORDER_DATE_PATTERN.fullmatch(moment.strftime(ORDER_DATE_FORMAT))
    assert moment.strftime(ORDER_DATE_FORMAT) == "02/01/2026:03:04:05"
    assert DAY_PATTERN.fullmatch(moment.strftime(DAY_FORMAT))
    assert parse_confirmation_date(moment.strftime(CONFIRMATION_DATE_FORMAT)) == moment
