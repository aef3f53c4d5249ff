"""The sandbox bank's field errors are the kit's: a ``sealing.FieldError``, read as ``.field``."""

from __future__ import annotations

from chalicelib.exceptions import RequestError
from sealing import FieldError


def test_a_sandbox_request_error_is_a_sealing_field_error() -> None:
    error = RequestError("montant", "must be positive")
    assert isinstance(error, FieldError)
    assert (error.field, str(error)) == ("montant", "montant: must be positive")
