"""Reading a merchant's JSON body: anything that is not one plain JSON object is a 400 naming the body."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orders.exceptions import InvalidOrderError
from orders.web.http import MAX_JSON_DEPTH, json_body, json_depth


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def read(body: str | bytes) -> dict[str, Any]:
    if isinstance(body, bytes):
        return json_body({"body": base64.b64encode(body).decode(), "isBase64Encoded": True})
    return json_body({"body": body})


def refusal(body: str | bytes) -> str:
    with pytest.raises(InvalidOrderError) as error:
        read(body)
    assert error.value.field == "body"
    return error.value.reason


def test_nesting_up_to_the_limit_is_read_one_level_more_is_refused() -> None:
    assert json_depth(nested(MAX_JSON_DEPTH)) == MAX_JSON_DEPTH
    assert read(nested(MAX_JSON_DEPTH))
    assert "deep" in refusal(nested(MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize("opening", ["[", '{"a":', '[{"a":'])
def test_a_body_nested_past_the_interpreter_stack_is_refused_not_a_recursion_error(opening: str) -> None:
    # Under the 64 KiB limit, yet deep enough that json.loads alone raises RecursionError.
    body = '{"amount":' + opening * (20_000 // len(opening))
    assert "deep" in refusal(body)


def test_brackets_inside_strings_do_not_count() -> None:
    body = '{"free_text": "' + "[{" * 100 + '\\"]]"}'
    assert json_depth(body) == 1
    assert read(body) == {"free_text": "[{" * 100 + '"]]'}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"amount": "1.00", "amount": "1000.00"}', "'amount' appears twice"),
        ('{"billing": {"city": "Paris", "city": "Lyon"}}', "'city' appears twice"),
        ('{"amount": NaN}', "NaN"),
        ('{"amount": -Infinity}', "Infinity"),
        ("[]", "JSON object"),
        ("null", "JSON object"),
        ("{not json", "not JSON"),
        (b'{"city": "\xe9"}', "UTF-8"),
        ('{"city": "\ud800"}', "UTF-8"),
    ],
)
def test_what_is_not_one_plain_json_object_is_refused(body: str | bytes, words: str) -> None:
    assert words in refusal(body)


def test_an_empty_body_is_an_empty_object() -> None:
    assert read("") == {}
    assert json_body({"body": None}) == {}
