"""The package as a whole: its public names and errors (its standard-library-only imports, in a fresh
interpreter: tests/integration/test_sealing_package.py)."""

from __future__ import annotations

import sealing


def test_every_public_name_exists_and_is_listed_once() -> None:
    assert len(sealing.__all__) == len(set(sealing.__all__))
    for name in sealing.__all__:
        assert hasattr(sealing, name), name


def test_every_error_is_a_sealing_error_and_a_value_error() -> None:
    for error in (
        sealing.InvalidKeyError,
        sealing.FieldError,
        sealing.MissingFieldError,
        sealing.MalformedMessageError,
        sealing.SealMismatchError,
        sealing.BankAnswerError,
        sealing.ConfigurationError,
    ):
        assert issubclass(error, sealing.SealingError)
    assert issubclass(sealing.SealingError, ValueError)
