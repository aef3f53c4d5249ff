"""The console's terminals: each terminal's mode and environment, and its last go-live check and smoke test as the
golive function and the command line keep them, each point in words; never a key."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest

from orders import golive
from orders.checks import Check, CheckRun, keep_run
from tests.support.aws import TEST_KEY
from tests.support.console import Browser, event, text
from tests.support.reconciliation import BUCKET, Reconciliation, reconciliation_resources

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
CGI2 = "https://api.shop.example/v1/confirmation"


def page(aws: Any, lambda_context: Any, role: str = "viewer", **query: str) -> Any:
    answer = aws.invoke("console", Browser(aws.store, role, NOW).get("/console/terminals", **query), lambda_context)
    assert answer["statusCode"] == 200
    return answer["body"]


def golive_route(aws: Any, lambda_context: Any, tpe: str) -> dict[str, Any]:
    request = {
        "httpMethod": "GET",
        "resource": "/terminals/{tpe}/golive",
        "pathParameters": {"tpe": tpe},
        "headers": {"Host": "127.0.0.1:9", "X-Forwarded-Proto": "http"},
        "requestContext": {"stage": "v1"},
    }
    answer = aws.invoke("golive", request, lambda_context)
    assert answer["statusCode"] == 200
    return json.loads(answer["body"])  # type: ignore[no-any-return]


@pytest.fixture
def resources(aws: Any) -> Reconciliation:
    kept = reconciliation_resources(aws)
    aws.use(clock=lambda: NOW)
    return kept


def test_the_go_live_route_keeps_its_result_and_the_page_shows_it_in_words(
    aws: Any, lambda_context: Any, resources: Reconciliation
) -> None:
    answered = golive_route(aws, lambda_context, "0900157")
    assert resources.keys("checks/") == ["checks/0900157/golive.json"]
    kept = resources.report("checks/0900157/golive.json")
    assert (kept["tpe"], kept["kind"], kept["at"], kept["passed"]) == ("0900157", "golive", NOW.isoformat(), False)
    assert kept["checks"] == answered["checks"]
    assert TEST_KEY not in json.dumps(kept)
    html = page(aws, lambda_context)
    words = unescape(text(html))
    row = "0900157 (default) La boutique du CD immediate capture test Europe/Paris failed, 2026-11-28 09:00 never run"
    assert row in words
    assert "0900159 boutiqueducd authorisation, captured on shipping (7 working days) test" in words
    assert "0900160 boutiqueducd immediate capture production" in words
    assert "Failed, 2026-11-28 09:00 (GET /terminals/{tpe}/golive)" in words
    assert "to fix · The terminal's key: the terminal uses the kits' public test key What to do: put the key" in words
    assert "to fix · The confirmation URL is HTTPS: CGI2 URL http://127.0.0.1:9/confirmation" in words
    assert "No smoke test kept for this terminal: run POST /terminals/0900157/smoke" in words
    french = unescape(text(page(aws, lambda_context, lang="fr")))
    assert "0900157 (par défaut) La boutique du CD encaissement immédiat test Europe/Paris échoué" in french
    assert "à corriger · La clé du terminal" in french


def test_the_command_line_keeps_its_result_over_the_one_before(
    aws: Any, lambda_context: Any, resources: Reconciliation, monkeypatch: pytest.MonkeyPatch
) -> None:
    golive_route(aws, lambda_context, "0900160")
    monkeypatch.setenv("RECONCILIATION_BUCKET", BUCKET)
    out = io.StringIO()
    ready = golive.main(["--tpe", "0900160", "--cgi2-url", CGI2], out, lambda url, body: (200, "version=2\ncdr=1\n"))
    assert ready == 1
    assert "golive result kept as checks/0900160/golive.json" in out.getvalue()
    kept = resources.report("checks/0900160/golive.json")
    assert kept["by"] == "python -m orders.golive"
    assert next(c for c in kept["checks"] if c["name"] == "cgi2_answers")["ok"] is True  # the command line's probe
    assert TEST_KEY not in json.dumps(kept)
    words = unescape(text(page(aws, lambda_context)))
    assert "(python -m orders.golive)" in words
    assert "ok · The confirmation URL answers the bank" in words


def test_without_a_bucket_the_command_line_says_its_result_is_not_kept(aws: Any, lambda_context: Any) -> None:
    out = io.StringIO()
    golive.main(["--tpe", "0900157", "--cgi2-url", CGI2], out, lambda url, body: (200, "version=2\ncdr=1\n"))
    assert "golive result not kept: RECONCILIATION_BUCKET is not set" in out.getvalue()
    aws.use(clock=lambda: NOW)
    words = text(page(aws, lambda_context))
    assert "The last checks cannot be read: the environment variable RECONCILIATION_BUCKET is not set" in words
    assert "0900161" in words  # the terminals themselves are listed


def test_a_kept_smoke_test_is_shown_passed_and_what_it_holds_escaped(
    aws: Any, lambda_context: Any, resources: Reconciliation
) -> None:
    hostile = "<script>alert(1)</script>"
    checks = (Check("order", True, "order EVSMOKE1 on terminal 0900158 (1.00EUR)"), Check("cleanup", True, hostile))
    keep_run(aws.deps.report_bucket(), CheckRun("0900158", "smoke", NOW, "POST /terminals/{tpe}/smoke", checks))
    resources.s3.put_object(Bucket=BUCKET, Key="checks/0900158/golive.json", Body=b"not json")  # left out
    html = page(aws, lambda_context)
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    words = unescape(text(html))
    row = "0900158 boutiqueducd deferred capture (3 working days) test Europe/Paris never run passed, 2026-11-28 09:00"
    assert row in words
    assert "Passed, 2026-11-28 09:00 (POST /terminals/{tpe}/smoke). ok · An order created: order EVSMOKE1" in words


def test_the_terminals_page_needs_a_signed_in_user_and_shows_no_key(
    aws: Any, lambda_context: Any, resources: Reconciliation
) -> None:
    golive_route(aws, lambda_context, "0900157")
    signed_out = aws.invoke("console", event("GET", "/console/terminals"), lambda_context)
    assert signed_out["statusCode"] == 303
    secret = json.loads(aws.secrets.get_secret_value(SecretId=aws.secret_arn)["SecretString"])
    for role in ("viewer", "operator"):
        html = page(aws, lambda_context, role)
        for terminal in secret["terminals"].values():
            assert terminal["key"] not in html
        assert "style=" not in html
