"""Settings every test shares, the kit's and the simulator's: fake AWS credentials, the functions' Powertools
environment, and no secret in any log. Each tier's root conftest imports it (pytest takes the hook from there)."""

import os

for _name, _value in {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "merchant-kit",
    "POWERTOOLS_METRICS_NAMESPACE": "MerchantKitTest",
}.items():
    os.environ.setdefault(_name, _value)


# --- no secret in any log: every test's captured output is scanned (tests/support/log_scan.py) -------------------

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from .log_scan import leaks  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.outcome != "passed":
        return
    # Each phase's report also carries the earlier phases' sections: scan only its own.
    own = [text for title, text in report.sections if title.endswith(f" {report.when}")]
    found = sorted({leak for text in own for leak in leaks(text)})
    if found:
        report.outcome = "failed"
        report.longrepr = f"the captured logs hold {', '.join(found)}: no key, card number or CVV may be logged"
