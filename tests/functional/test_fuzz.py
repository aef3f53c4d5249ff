"""Fuzzing CGI2: Hypothesis (structured mutations of a genuine confirmation, and any bytes) and atheris (coverage-
guided, from genuine seeds). Only defined answers; no state change without a valid seal (tests/fuzz/cgi2_target.py).

The example counts are small for CI; raise them with FUZZ_EXAMPLES / FUZZ_RUNS for a longer campaign.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orders.payment import ConfirmationKind
from tests.fuzz.cgi2_target import REFERENCE, check, sealed_by_oracle, valid_body
from tests.support.aws import event
from tests.support.merchant import ACK_BAD, ACK_OK, stored_order

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
# libFuzzer's own memory grows with its corpus and coverage maps (2 GB past 15,000 inputs here): the suite runs a
# few thousand; FUZZ_RUNS runs it longer.
RUNS = int(os.environ.get("FUZZ_RUNS", "6000"))


def fields_of(body: bytes) -> list[tuple[bytes, bytes]]:
    return [tuple(part.split(b"=", 1)) for part in body.split(b"&")]  # type: ignore[misc]


def joined(fields: list[tuple[bytes, bytes]]) -> bytes:
    return b"&".join(name + b"=" + value for name, value in fields)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A genuine confirmation, then one change a hostile or broken sender could make."""
    code = draw(st.sampled_from(["payetest", "paiement", "Annulation", "paiement_pf2", "Annulation_pf3"]))
    fields = fields_of(valid_body(code))
    index = draw(st.integers(0, len(fields) - 1))
    name, value = fields[index]
    kind = draw(st.sampled_from(["duplicate", "drop", "replace", "rename", "encode", "huge", "bytes", "case"]))
    if kind == "duplicate":
        fields.insert(draw(st.integers(0, len(fields))), (name, draw(st.binary(max_size=20)).hex().encode()))
    elif kind == "drop":
        del fields[index]
    elif kind == "replace":
        fields[index] = (name, quote(draw(st.text(max_size=30))).encode())
    elif kind == "rename":
        fields[index] = (draw(st.sampled_from([b"tpe", b"Tpe", b"mac", b"MAC", b"reference", b"montant"])), value)
    elif kind == "encode":
        fields[index] = (name, quote(value.decode("latin-1"), safe="").encode())  # the same value, re-encoded
    elif kind == "huge":
        fields[index] = (name, b"9" * draw(st.sampled_from([1_000, 100_000, 2_000_000])))
    elif kind == "case":
        fields[index] = (name, value.swapcase())
    else:
        fields[index] = (name, draw(st.binary(min_size=1, max_size=40)))
    return joined(fields)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(st.one_of(mutated(), st.binary(max_size=4_000)))
@example(b"")
@example(b"&&&")
@example(b"MAC=" + b"0" * 40)
@example(valid_body() + b"&" + valid_body())
@example(valid_body().decode().encode("utf-16"))
def test_the_service_answers_every_body_and_writes_only_what_is_sealed(body: bytes) -> None:
    kind = check(body)
    if not sealed_by_oracle(body):
        assert kind in {ConfirmationKind.REJECTED, ConfirmationKind.NOT_STORED}


def test_genuine_bodies_are_applied() -> None:
    assert check(valid_body()) is ConfirmationKind.APPLIED
    assert check(valid_body("Annulation", numauto="", motifrefus="Refus")) is ConfirmationKind.APPLIED


@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.one_of(mutated(), st.binary(max_size=2_000)))
def test_the_handler_on_moto_answers_and_changes_nothing_without_a_seal(
    aws: Any, lambda_context: Any, body: bytes
) -> None:
    if not _stored(aws):  # the fixture lives across the examples: store the order once
        stored_order(aws, REFERENCE)
    before = aws.store.get(REFERENCE)
    aws.writes.clear()
    request = event("confirmation_accepted.json")
    request["body"] = base64.b64encode(body).decode()
    answer = aws.invoke("cgi2", request, lambda_context)
    assert (answer["statusCode"], answer["body"]) in {(200, ACK_OK), (200, ACK_BAD)} or (
        answer["statusCode"] == 503 and "cdr" not in answer["body"]
    )
    if not sealed_by_oracle(body):
        assert answer["body"] == ACK_BAD
        assert aws.writes == []
        assert aws.store.get(REFERENCE) == before


def _stored(aws: Any) -> bool:
    key = {"pk": {"S": f"ORDER#{REFERENCE}"}, "sk": {"S": "ORDER"}}
    return "Item" in aws.dynamodb.get_item(TableName=aws.store.table_name, Key=key)


def test_atheris_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    result = subprocess.run(  # noqa: S603 - this interpreter, the repository's own harness
        [
            sys.executable,
            str(ROOT / "tests" / "fuzz" / "fuzz_cgi2.py"),
            str(corpus),
            f"-runs={RUNS}",
            "-max_len=4096",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {RUNS} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
