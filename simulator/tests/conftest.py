"""The simulator's tests share the kit's settings: tests/support/settings.py (fake AWS credentials, no secret in
any log)."""

from tests.support.settings import pytest_runtest_makereport  # noqa: F401 - pytest takes the hook from here
