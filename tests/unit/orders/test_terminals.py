"""The terminal configuration secret: parsed strictly, every mistake named."""

from __future__ import annotations

import json
from typing import Any

import pytest

import sealing
from orders.exceptions import ConfigurationError, UnknownTerminalError
from orders.terminals import EndPolicy, MailConfiguration, PaymentMode, Terminals
from sealing import Bank, Environment, SealingError, SealVariant
from tests.support.aws import TEST_KEY, mail_config, terminals_config


def test_the_local_terminals_parse() -> None:
    terminals = Terminals.from_json(json.dumps(terminals_config()))
    assert terminals.get().tpe == "0900157"
    immediate, deferred, authorisation = (terminals.get(t) for t in ("0900157", "0900158", "0900159"))
    assert immediate.mode is PaymentMode.IMMEDIATE
    assert (deferred.mode, deferred.deferral_days, deferred.end_policy) == (
        PaymentMode.DEFERRED, 3, EndPolicy.VALIDATE,
    )  # fmt: skip
    assert authorisation.mode is PaymentMode.DEFERRED_AUTHORIZATION
    assert authorisation.end_policy is EndPolicy.CANCEL
    assert immediate.terminal.bank is Bank.CIC
    assert immediate.terminal.environment is Environment.TEST
    assert immediate.terminal.seal is SealVariant.DSP2
    assert immediate.terminal.payment_url == "https://ssl.paiement.cic-banques.fr/test/paiement.cgi"
    assert terminals.get("0900160").terminal.payment_url == "https://ssl.paiement.cic-banques.fr/paiement.cgi"


def test_deferred_authorization_always_cancels_what_is_left() -> None:
    data = terminals_config(**{"0900159": {"end_policy": "validate"}})
    assert Terminals.from_mapping(data).get("0900159").end_policy is EndPolicy.CANCEL


def test_unknown_terminal() -> None:
    with pytest.raises(UnknownTerminalError, match="9999999"):
        Terminals.from_mapping(terminals_config()).get("9999999")


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"mode": "later"}, "mode"),
        ({"deferral_days": 8}, "deferral_days"),
        ({"deferral_days": "3"}, "deferral_days"),
        ({"bank": "bnp"}, "bank"),
        ({"key": "not a key"}, "key"),
        ({"key": None}, "key"),
        ({"key": 1234}, "key"),
        ({"societe": ""}, "societe"),
        ({"societe": None}, "societe"),
        ({"environment": None}, "environment"),
        ({"environment": "prod"}, "environment"),
        ({"currencies": "EUR"}, "currencies"),
        ({"currencies": []}, "currencies"),
        ({"currencies": ["eur"]}, "currencies"),
        ({"currencies": ["EUR", "KWD"]}, "currencies"),
        ({"currencies": ["XYZ"]}, "currencies"),
        ({"languages": ["FR", "ZH"]}, "languages"),
        ({"languages": "FR"}, "languages"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 1}, "timezone"),
        ({"payment_base_url": 5}, "payment_base_url"),
        ({"backoffice_base_url": "payment-api.e-i.com"}, "backoffice_base_url"),
        ({"return_ok_url": "ftp://shop.example/ok"}, "return_ok_url"),
        ({"return_err_url": ["https://shop.example/err"]}, "return_err_url"),
        ({"merchant_name": 42}, "merchant_name"),
    ],
)
def test_bad_settings_name_the_terminal_and_setting(change: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^terminals\.0900157\.{setting}: ") as error:
        Terminals.from_mapping(terminals_config(**{"0900157": change}))
    assert TEST_KEY not in str(error.value)


def test_a_terminal_without_environment_is_refused_not_taken_for_a_test_one() -> None:
    data = terminals_config()
    del data["terminals"]["0900160"]["environment"]  # the production terminal, its environment forgotten
    with pytest.raises(ConfigurationError) as error:
        Terminals.from_mapping(data)
    assert str(error.value) == 'terminals.0900160.environment: is required ("test" or "production")'


def test_a_terminal_without_currencies_takes_euros_only() -> None:
    terminals = Terminals.from_mapping(terminals_config())
    assert terminals.get().terminal.currencies == ("EUR",)
    listed = Terminals.from_mapping(terminals_config(**{"0900157": {"currencies": ["EUR", "CHF"]}}))
    assert listed.get().terminal.currencies == ("EUR", "CHF")


@pytest.mark.parametrize(
    "data", ["", "[]", '{"terminals": {}}', '{"terminals": {"1": {}}, "default_tpe": "2"}', "[" * 20_000]
)
def test_unusable_documents(data: str) -> None:
    with pytest.raises(ConfigurationError):
        Terminals.from_json(data)


def test_the_key_never_shows_in_a_repr() -> None:
    terminals = Terminals.from_mapping(terminals_config())
    assert TEST_KEY not in repr(terminals)
    assert "1234567890123456789012345678901234567890" not in repr(terminals)


def test_mail_settings_are_a_document_of_their_own_and_parsed() -> None:
    settings = MailConfiguration.from_mapping(
        mail_config(**{"0900157": {"sender": "shop@shop.example", "merchant": "me@shop.example"}})
    )
    mail = settings.get("0900157")
    assert mail is not None
    assert (mail.sender, mail.merchant, mail.buyer, mail.merchant_name, mail.merchant_language) == (
        "shop@shop.example", "me@shop.example", True, "La boutique du CD", "FR",
    )  # fmt: skip
    assert settings.get("0900158") is None, "a terminal not listed sends no mail"
    assert MailConfiguration.from_mapping({"terminals": {"0900157": {"sender": "a@b.example", "buyer": False}}})


def test_mail_settings_in_the_terminal_secret_are_refused_saying_where_they_go() -> None:
    """The secret holds the keys, which the mail function must not read: settings left there would never be read."""
    with pytest.raises(ConfigurationError, match=r"terminals\.0900157\.mail: .*MailSettingsParameter"):
        Terminals.from_mapping(terminals_config(**{"0900157": {"mail": {"sender": "shop@shop.example"}}}))


@pytest.mark.parametrize(
    ("mail", "field"),
    [
        ("shop@shop.example", "terminals.0900157: must be an object"),
        ({}, "terminals.0900157.sender"),
        ({"sender": "shop@shop.example\nBcc: all@victims.example"}, "terminals.0900157.sender"),
        ({"sender": "shop@shop.example", "merchant": "two@a.example, b@b.example"}, "terminals.0900157.merchant"),
        ({"sender": "La boutique <shop@shop.example>"}, "terminals.0900157.sender"),
        ({"sender": "shop@shop.example", "merchant": "x;y@shop.example"}, "terminals.0900157.merchant"),
        ({"sender": "shop@shop.example", "merchant": "orders@shop.example>"}, "terminals.0900157.merchant"),
        ({"sender": "shop@shop.example", "buyer": "yes"}, "terminals.0900157.buyer"),
        ({"sender": "shop@shop.example", "merchant_language": "NL"}, "terminals.0900157.merchant_language"),
        ({"sender": "shop@shop.example", "merchant_name": " "}, "terminals.0900157.merchant_name"),
        ({"sender": "shop@shop.example", "merchant_name": 7}, "terminals.0900157.merchant_name"),
    ],
)
def test_bad_mail_settings_name_their_field(mail: Any, field: str) -> None:
    document = mail_config(**{"0900157": mail}) if isinstance(mail, dict) else {"terminals": {"0900157": mail}}
    with pytest.raises(ConfigurationError, match=field.replace(".", r"\.")):
        MailConfiguration.from_mapping(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "the mail settings: not JSON"),
        ("[]", "need a 'terminals' object"),
        ('{"terminals": {"09001": {"sender": "a@b.example"}}}', "terminals: '09001' is not a terminal number"),
        ('{"terminals": {}, "sender": "a@b.example"}', "sender: is not a setting of the mail settings"),
        (
            '{"terminals": {"0900158": {"sender": "a@b.example", "merchants": "c@b.example", "buyer": false}}}',
            "terminals.0900158.merchants: is not a setting of a terminal's mail; did you mean merchant?",
        ),
    ],
)
def test_a_mail_document_that_cannot_be_read_says_why(document: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        MailConfiguration.from_json(document)


def test_a_key_pasted_into_the_mail_settings_is_not_repeated() -> None:
    with pytest.raises(ConfigurationError) as raised:
        MailConfiguration.from_mapping(mail_config(**{"0900157": {"sender": TEST_KEY}}))
    assert TEST_KEY not in str(raised.value)
    assert "sender" in str(raised.value)


@pytest.mark.parametrize(
    "change",
    [
        {"mode": TEST_KEY},
        {"end_policy": TEST_KEY},
        {"deferral_days": TEST_KEY},
        {"currencies": [TEST_KEY]},
        {"environment": TEST_KEY},
        {"return_ok_url": TEST_KEY},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_key_pasted_into_another_setting_is_not_repeated_in_the_error(change: dict[str, Any]) -> None:
    # The message is logged by every function that reads the secret; it names the setting, not the secret value.
    with pytest.raises((ConfigurationError, SealingError)) as raised:
        Terminals.from_mapping(terminals_config(**{"0900157": change}))
    assert TEST_KEY not in str(raised.value)
    assert next(iter(change)) in str(raised.value)


@pytest.mark.parametrize(
    ("change", "raised_in"),
    [({"mode": "later"}, "_contract.py"), ({"merchant_name": 7}, "terminals.py"), ({"key": "short"}, "_contract.py")],
    ids=["sealing's contract", "the orders layer's", "the key"],
)
def test_one_configuration_error_raised_where_the_setting_is_read_never_converted(
    change: dict[str, Any], raised_in: str
) -> None:
    # One class for the protocol's settings and the kit's: what sealing raises reaches the caller as it was raised.
    assert ConfigurationError is sealing.ConfigurationError
    with pytest.raises(sealing.ConfigurationError, match=rf"^terminals\.0900157\.{next(iter(change))}: ") as raised:
        Terminals.from_mapping(terminals_config(**{"0900157": change}))
    assert raised.traceback[-1].path.name == raised_in


def test_a_short_wrong_value_is_still_repeated() -> None:
    with pytest.raises(ConfigurationError, match="'later' is not one of"):
        Terminals.from_mapping(terminals_config(**{"0900157": {"mode": "later"}}))


def test_a_default_terminal_that_is_a_key_is_not_repeated() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Terminals.from_mapping({**terminals_config(), "default_tpe": TEST_KEY})
    assert TEST_KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            terminals_config(**{"0900157": {"return_url_ok": "https://shop.example/ok"}}),
            "terminals.0900157.return_url_ok: is not a setting of a terminal; did you mean return_ok_url?",
            id="terminal",
        ),
        pytest.param(
            {**terminals_config(), "default_terminal": "0900157"},
            "default_terminal: is not a setting of the terminal configuration; did you mean default_tpe?",
            id="top-level",
        ),
        pytest.param(
            terminals_config(**{"0900157": {"colour": "blue"}}),
            "terminals.0900157.colour: is not a setting of a terminal (key, previous_key, previous_key_until, societe,"
            " bank, environment, seal, mode, deferral_days, end_policy, currencies, languages, timezone, return_ok_url,"
            " return_err_url, payment_base_url, backoffice_base_url, merchant_name)",
            id="nothing-near",
        ),
    ],
)
def test_an_unknown_setting_is_refused_naming_the_nearest_known_one(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Terminals.from_mapping(data)
    assert str(raised.value) == message


def test_a_key_pasted_as_a_setting_name_is_not_repeated() -> None:
    with pytest.raises(ConfigurationError, match="is not a setting of a terminal") as raised:
        Terminals.from_mapping(terminals_config(**{"0900157": {TEST_KEY: "key"}}))
    assert TEST_KEY not in str(raised.value)


@pytest.mark.parametrize("tpe", ["090015", "09001570", "0900 57", TEST_KEY])
def test_a_terminal_number_is_seven_letters_or_digits(tpe: str) -> None:
    data = terminals_config()
    data["terminals"][tpe] = data["terminals"].pop("0900157")
    data["default_tpe"] = "0900158"
    expected = r"^terminals: .* is not a terminal number \(7 letters or digits"
    with pytest.raises(ConfigurationError, match=expected) as raised:
        Terminals.from_mapping(data)
    assert TEST_KEY not in str(raised.value)


# --- a key rotation: the previous key, accepted on confirmations until a date ------------------------------

NEW_KEY = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
UNTIL = "2026-12-01T12:00:00+01:00"


def rotation(**changes: Any) -> dict[str, Any]:
    return terminals_config(**{"0900157": {"key": NEW_KEY, "previous_key": TEST_KEY, **changes}})


def test_the_previous_key_is_accepted_on_confirmations_until_its_date() -> None:
    from datetime import datetime, timedelta

    from sealing import MerchantKey

    terminal = Terminals.from_mapping(rotation(previous_key_until=UNTIL)).get("0900157")
    until = datetime.fromisoformat(UNTIL)
    assert terminal.terminal.key == MerchantKey(NEW_KEY)  # what forms and back-office calls are sealed with
    assert terminal.confirmation_keys(until) == (MerchantKey(NEW_KEY), MerchantKey(TEST_KEY))
    assert terminal.confirmation_keys(until + timedelta(microseconds=1)) == (MerchantKey(NEW_KEY),)
    assert Terminals.from_mapping(terminals_config()).get().confirmation_keys(until) == (MerchantKey(TEST_KEY),)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, r"^terminals\.0900157\.previous_key_until: is required with previous_key "),
        ({"previous_key_until": "2026-12-01T12:00:00"}, r"^terminals\.0900157\.previous_key_until: .* with its zone"),
        ({"previous_key_until": "next week"}, r"^terminals\.0900157\.previous_key_until: 'next week' is not a date"),
        ({"previous_key_until": 1764586800}, r"^terminals\.0900157\.previous_key_until: .* is not a date"),
        ({"previous_key": "not a key", "previous_key_until": UNTIL}, r"^terminals\.0900157\.previous_key: "),
        ({"previous_key": TEST_KEY[:-1] + "X", "previous_key_until": UNTIL}, r"^terminals\.0900157\.previous_key: "),
        ({"previous_key": NEW_KEY, "previous_key_until": UNTIL}, r"^terminals\.0900157\.previous_key: is the same"),
        ({"previous_key": None, "previous_key_until": UNTIL}, r"^terminals\.0900157\.previous_key_until: is given "),
    ],
)
def test_a_rotation_half_configured_is_refused_naming_the_setting(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        Terminals.from_mapping(rotation(**changes))
    for key in (TEST_KEY, NEW_KEY, TEST_KEY[:-1] + "X", "1234567890" * 4):
        assert key.lower() not in str(raised.value).lower()  # no key is ever repeated


def test_previous_key_until_more_than_30_days_ahead_is_refused_when_the_secret_is_read() -> None:
    from datetime import datetime, timedelta

    until = datetime.fromisoformat(UNTIL)
    terminals = Terminals.from_mapping(rotation(previous_key_until=UNTIL))
    terminals.check_rotation(until - timedelta(days=30))  # a month's overlap: taken
    terminals.check_rotation(until + timedelta(days=90))  # long past: the key is simply no longer accepted
    with pytest.raises(ConfigurationError, match=r"^terminals\.0900157\.previous_key_until: 2026-12-01T12:00:00\+01"):
        terminals.check_rotation(until - timedelta(days=30, seconds=1))
