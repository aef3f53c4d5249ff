"""CGI1 under moto: create an order, read it, serve its checkout form."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from orders.payment import ORDER_FIELDS
from tests.support.aws import event, terminals_config
from tests.support.merchant import BILLING, CheckoutForm, create


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


def _next_month() -> str:
    return (datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=30)).isoformat()


def _split(first: Any, second: Any = "31.36", due: str = "") -> list[dict[str, Any]]:
    return [{"due": _today(), "amount": first}, {"due": due or _next_month(), "amount": second}]


# One bad value for every field of the request, and the name the 400 must give it: the request's own.
EVERY_FIELD: list[tuple[dict[str, Any], str]] = [
    ({"amount": "1234567890123.00"}, "amount"),
    ({"currency": "usd"}, "currency"),
    ({"email": "buyer@"}, "email"),
    ({"language": "ja"}, "language"),
    ({"free_text": 42}, "free_text"),
    ({"billing": None}, "billing"),
    ({"billing": "1 rue de la Paix"}, "billing"),
    ({"billing": {**BILLING, "city": "x" * 51}}, "billing.city"),
    ({"billing": {**BILLING, "postalCode": "75002-75002"}}, "billing.postalCode"),
    ({"billing": {**BILLING, "country": "France"}}, "billing.country"),
    ({"billing": {**BILLING, "street": "rue de la Paix"}}, "billing.street"),
    ({"billing": {k: v for k, v in BILLING.items() if k != "country"}}, "billing.country"),
    ({"shipping": {**BILLING, "addressLine1": "x" * 51}}, "shipping.addressLine1"),
    ({"shipping": {**BILLING, "phone": "0612345678"}}, "shipping.phone"),
    ({"tpe": 900157}, "tpe"),
    ({"return_ok_url": "javascript:alert(1)"}, "return_ok_url"),
    ({"return_err_url": "https://shop.example/é"}, "return_err_url"),
    ({"three_ds_challenge": "always"}, "three_ds_challenge"),
    ({"instalments": {"due": "2099-01-01"}}, "instalments"),
    ({"instalments": [_split("31.37")[0]]}, "instalments"),
    ({"instalments": _split("31,37")}, "instalments[0].amount"),
    ({"instalments": _split(None)}, "instalments[0].amount"),
    ({"instalments": _split("31.37", 31.36)}, "instalments[1].amount"),
    ({"instalments": _split("31.37", due="2099-02-30")}, "instalments[1].due"),
    ({"instalments": _split("31.37", due=_today())}, "instalments[1].due"),
    ({"instalments": [{**_split("31.37")[0], "note": "x"}, _split("31.37")[1]]}, "instalments[0].note"),
    ({"instalments": _split("31.37", due="9999-12-31")}, "instalments[1].due"),
    ({"instalments": _split("31.37"), "tpe": "0900158"}, "instalments"),
    ({"description": 42}, "description"),
    ({"description": "x" * 501}, "description"),
    ({"description": "2 BIC Bleu\n7 Calvados"}, "description"),
    ({"description": "\ud800"}, "description"),
    ({"card_alias": "client 7"}, "card_alias"),
    ({"card_alias": "c" * 65}, "card_alias"),
    ({"card_alias": ["client7"]}, "card_alias"),
]


@pytest.mark.parametrize(("fields", "field"), EVERY_FIELD)
def test_every_400_names_the_field_as_the_request_does(
    aws: Any, lambda_context: Any, fields: dict[str, Any], field: str
) -> None:
    answer = create(aws, lambda_context, **fields)
    assert (answer["status"], answer["json"]["error"]["field"]) == (400, field)
    assert aws.writes == []


def test_every_field_of_the_request_is_covered_by_that_test() -> None:
    named = {re.split(r"[.\[]", field)[0] for _, field in EVERY_FIELD}
    assert named == ORDER_FIELDS


def test_body_that_is_not_json_is_a_400(aws: Any, lambda_context: Any) -> None:
    created = event("create_order.json")
    created["body"] = base64.b64encode(b"{not json").decode()
    response = aws.invoke("cgi1", created, lambda_context)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["field"] == "body"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": "62.73", "billing": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        b'{"amount": "62.73", "amount": "6273.00", "email": "buyer@example.com"}',
        b'{"amount": "62.73", "email": "buyer@example.com", "free_text": "\xff"}',
    ],
)
def test_a_body_that_cannot_be_read_exactly_is_a_400_naming_the_body(aws: Any, lambda_context: Any, raw: bytes) -> None:
    created = event("create_order.json")
    created["body"] = base64.b64encode(raw).decode()
    response = aws.invoke("cgi1", created, lambda_context)
    assert (response["statusCode"], json.loads(response["body"])["error"]["field"]) == (400, "body")
    assert aws.writes == []


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        (
            {"tpe": "0900158", "instalments": _split("31.37")},
            "instalments",
            "a split payment needs an immediate terminal; 0900158 is deferred",
        ),
        (
            {"tpe": "0900159", "instalments": _split("31.37")},
            "instalments",
            "a split payment needs an immediate terminal; 0900159 is deferred_authorization",
        ),
        (
            {"instalments": _split("31.37", due="9999-12-31")},
            "instalments[1].due",
            "an instalment falls at most a year after the order date",
        ),
    ],
)
def test_instalments_the_bank_would_refuse_are_a_400_saying_the_rule(
    aws: Any, lambda_context: Any, fields: dict[str, Any], field: str, rule: str
) -> None:
    answer = create(aws, lambda_context, **fields)
    assert (answer["status"], answer["json"]["error"]["field"]) == (400, field)
    assert rule in answer["json"]["error"]["message"]
    assert aws.writes == []


def test_instalments_up_to_a_year_on_are_taken(aws: Any, lambda_context: Any) -> None:
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    a_year_on = (
        today.replace(year=today.year + 1)
        if (today.month, today.day) != (2, 29)
        else today.replace(year=today.year + 1, day=28)
    )
    answer = create(aws, lambda_context, instalments=_split("31.37", due=a_year_on.isoformat()))
    assert answer["status"] == 201
    assert answer["json"]["form"]["fields"]["nbrech"] == "2"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "6273"}, "amount", '"6273" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ({"amount": "62.7"}, "amount", '"62.7" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ({"amount": "62.730"}, "amount", '"62.730" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        (
            {"amount": "1000.50", "currency": "JPY"},
            "amount",
            '"1000.50" is not an amount in JPY like 6273 (no decimals)',
        ),
        (
            {"amount": "1.500", "currency": "KWD"},
            "currency",
            "KWD has 3 minor digits (ISO 4217): the bank's amounts have at most 2, the kit cannot seal it",
        ),
        ({"amount": "1.50", "currency": "XYZ"}, "currency", "XYZ is not an ISO 4217 currency the kit knows"),
        (
            {"instalments": _split("31.4", "31.33")},
            "instalments[0].amount",
            '"31.4" is not an amount in EUR like 62.73 (exactly 2 decimals)',
        ),
    ],
)
def test_an_amount_is_written_with_exactly_its_currencys_minor_digits(
    aws: Any, lambda_context: Any, fields: dict[str, Any], field: str, message: str
) -> None:
    answer = create(aws, lambda_context, **fields)
    assert (answer["status"], answer["json"]["error"]) == (400, {"field": field, "message": f"{field}: {message}"})
    assert aws.writes == []


@pytest.mark.parametrize(
    "email", ["x;y@example.com", "x@example.com>", "Name <x@example.com>", "andré@example.com", "x@example"]
)
def test_an_address_ses_would_refuse_is_refused_at_the_door(aws: Any, lambda_context: Any, email: str) -> None:
    answer = create(aws, lambda_context, email=email)
    assert (answer["status"], answer["json"]["error"]["field"]) == (400, "email")
    assert aws.writes == []


def test_an_order_in_yen_is_sealed_without_decimals(aws: Any, lambda_context: Any) -> None:
    aws.set_terminals(terminals_config(**{"0900157": {"currencies": ["EUR", "JPY"]}}))
    created = create(aws, lambda_context, amount="1000", currency="JPY")
    assert created["status"] == 201, created["json"]
    assert created["json"]["form"]["fields"]["montant"] == "1000JPY"


def test_get_order_returns_status_and_attempts(aws: Any, lambda_context: Any) -> None:
    reference = create(aws, lambda_context, tpe="0900158")["json"]["reference"]
    get = event("get_order.json")
    get["pathParameters"] = {"reference": reference}
    response = aws.invoke("cgi1", get, lambda_context)
    assert response["statusCode"] == 200
    order = json.loads(response["body"])
    assert order["reference"] == reference
    assert (order["status"], order["amount"], order["currency"], order["tpe"]) == (
        "awaiting_payment", "62.73", "EUR", "0900158",
    )  # fmt: skip
    assert order["attempts"] == []


def test_get_unknown_order_is_a_404(aws: Any, lambda_context: Any) -> None:
    get = event("get_order.json")
    get["pathParameters"] = {"reference": "NOPE"}
    assert aws.invoke("cgi1", get, lambda_context)["statusCode"] == 404


def test_checkout_page_has_the_sealed_form_and_one_button(aws: Any, lambda_context: Any) -> None:
    created = create(aws, lambda_context, language="EN")["json"]
    token = created["checkout_url"].rsplit("/", 1)[-1]
    checkout = event("checkout.json")
    checkout["pathParameters"] = {"token": token}
    response = aws.invoke("checkout", checkout, lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = CheckoutForm()
    page.feed(response["body"])
    assert page.action == created["form"]["action"]
    assert dict(page.fields) == created["form"]["fields"]
    assert page.buttons == ["Pay by card"]


def test_checkout_in_french_says_paiement_par_carte_bancaire(aws: Any, lambda_context: Any) -> None:
    token = create(aws, lambda_context)["json"]["checkout_url"].rsplit("/", 1)[-1]
    checkout = event("checkout.json")
    checkout["pathParameters"] = {"token": token}
    page = CheckoutForm()
    page.feed(aws.invoke("checkout", checkout, lambda_context)["body"])
    assert page.buttons == ["Paiement par carte bancaire"]


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t.split(".")[0]])
def test_a_wrong_checkout_token_is_a_404(aws: Any, lambda_context: Any, mangle: Any) -> None:
    token = create(aws, lambda_context)["json"]["checkout_url"].rsplit("/", 1)[-1]
    checkout = event("checkout.json")
    checkout["pathParameters"] = {"token": mangle(token)}
    assert aws.invoke("checkout", checkout, lambda_context)["statusCode"] == 404


@pytest.mark.parametrize(
    "token",
    ["{ref}.sécret", "{ref}.secret\u00b2", "{ref}.secret\n", "{ref}.", "é.secret", "{ref}.x.y", "{ref}", ""],
)
def test_a_token_that_is_not_exactly_a_valid_one_is_the_404_page(aws: Any, lambda_context: Any, token: str) -> None:
    reference = create(aws, lambda_context)["json"]["reference"]  # the reference exists: only the secret is wrong
    checkout = event("checkout.json")
    checkout["pathParameters"] = {"token": token.format(ref=reference)}
    response = aws.invoke("checkout", checkout, lambda_context)
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"].startswith("text/html")


def dynamodb_key_limit(params: dict[str, Any], **_: Any) -> None:
    """What DynamoDB does and moto does not: a partition key over 2048 bytes is a ValidationException."""
    if any(len(value["S"].encode()) > 2048 for value in params.get("Key", {}).values()):
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "key too large"}}, "GetItem")


@pytest.mark.parametrize("reference", ["A" * 3000, "", "ré", "REF 1", "ABCDEFGHIJKLM"])
def test_get_order_of_a_reference_that_cannot_exist_is_a_404(aws: Any, lambda_context: Any, reference: str) -> None:
    aws.dynamodb.meta.events.register("provide-client-params.dynamodb.GetItem", dynamodb_key_limit)
    get = event("get_order.json")
    get["pathParameters"] = {"reference": reference}
    response = aws.invoke("cgi1", get, lambda_context)
    assert (response["statusCode"], json.loads(response["body"])["error"]["field"]) == (404, "reference")


def test_sample_checkout_event_is_a_404_without_its_order(aws: Any, lambda_context: Any) -> None:
    assert aws.invoke("checkout", event("checkout.json"), lambda_context)["statusCode"] == 404


def test_an_unusable_configuration_is_a_500_with_a_message(aws: Any, lambda_context: Any) -> None:
    aws.set_terminals({"default_tpe": "0900157", "terminals": {"0900157": {"key": "short"}}})
    answer = create(aws, lambda_context)
    assert answer["status"] == 500
    assert "configuration" in answer["json"]["error"]["message"]
    assert "short" not in json.dumps(answer["json"])


def test_shipping_and_the_3ds_preference_reach_the_sealed_form(aws: Any, lambda_context: Any) -> None:
    shipping = {"addressLine1": "2 rue de Rivoli", "city": "Paris", "postalCode": "75004", "country": "FR"}
    answer = create(aws, lambda_context, shipping=shipping, three_ds_challenge="challenge_mandated")
    fields = answer["json"]["form"]["fields"]
    assert fields["ThreeDSecureChallenge"] == "challenge_mandated"
    context = json.loads(base64.b64decode(fields["contexte_commande"]))
    assert context == {"billing": BILLING, "shipping": shipping}


def _read(aws: Any, reference: str, lambda_context: Any) -> dict[str, Any]:
    get = event("get_order.json")
    get["pathParameters"] = {"reference": reference}
    return json.loads(aws.invoke("cgi1", get, lambda_context)["body"])  # type: ignore[no-any-return]


def test_the_description_is_kept_and_shown_but_not_sent_to_the_bank(aws: Any, lambda_context: Any) -> None:
    answer = create(aws, lambda_context, description="2 BIC Bleu (par 10), 7 Calvados à 42°")
    assert answer["status"] == 201
    assert "2 BIC" not in json.dumps(answer["json"]["form"])  # no field of the request can carry it safely
    order = _read(aws, answer["json"]["reference"], lambda_context)
    assert order["description"] == "2 BIC Bleu (par 10), 7 Calvados à 42°"
    assert _read(aws, create(aws, lambda_context)["json"]["reference"], lambda_context)["description"] is None


def test_a_buyers_card_alias_reaches_the_bank_as_aliascb(aws: Any, lambda_context: Any) -> None:
    answer = create(aws, lambda_context, card_alias="client7")
    fields = answer["json"]["form"]["fields"]
    assert fields["aliascb"] == "client7"
    assert "options" not in fields  # a DSP2 terminal posts each option as its own sealed field
    assert _read(aws, answer["json"]["reference"], lambda_context)["card_alias"] == "client7"
    legacy = create(aws, lambda_context, card_alias="client7", tpe="0900161")["json"]["form"]["fields"]
    assert (legacy["options"], "aliascb" in legacy) == ("aliascb=client7", False)


def test_blank_billing_values_are_left_out_of_the_order_context(aws: Any, lambda_context: Any) -> None:
    answer = create(aws, lambda_context, billing={**BILLING, "addressLine2": "", "phone": " "})
    assert answer["status"] == 201
    context = json.loads(base64.b64decode(answer["json"]["form"]["fields"]["contexte_commande"]))
    assert context == {"billing": BILLING}
