"""One field error: every "this field is wrong" of the kit is a ``sealing.FieldError``, read as ``.field``."""

from __future__ import annotations

import pytest

from orders.exceptions import InvalidOrderError, OrdersError
from orders.web.http import json_body
from sealing import FieldError


def test_each_field_error_is_a_sealing_field_error() -> None:
    error = InvalidOrderError("amount", "must be more than zero")
    assert isinstance(error, FieldError)
    assert error.field
    assert str(error) == f"{error.field}: {error.reason}"


def test_a_body_that_cannot_be_read_names_the_body_with_a_400() -> None:
    with pytest.raises(FieldError) as raised:
        json_body({"body": "[1]"})
    assert isinstance(raised.value, OrdersError)
    assert (raised.value.status, raised.value.field) == (400, "body")
