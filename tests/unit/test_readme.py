"""The README's examples hold as printed: the terminal configuration and the bodies it verifies.
(The `sealing` command lines run in tests/integration/test_readme_commands.py, the curl lines against the local
stack in tests/e2e/test_readme_examples.py.)"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from orders.exceptions import ConfigurationError
from orders.terminals import PaymentMode, Terminals
from tests.support.readme import ROOT, block_under

TEST_KEY = "12345678901234567890123456789012345678P0"


def _documented_configuration() -> dict[str, Any]:
    text = block_under("Configuring a terminal", "json").text
    text = text.replace("<the 40 characters the bank gave you>", TEST_KEY).replace("<site code>", "boutiqueducd")
    return dict(json.loads(text))


def test_the_terminal_configuration_example_is_read_as_documented() -> None:
    documented = _documented_configuration()
    terminal = Terminals.from_mapping(documented).get()
    settings = documented["terminals"][terminal.tpe]
    assert terminal.tpe == documented["default_tpe"]
    assert terminal.mode is PaymentMode(settings["mode"])
    assert terminal.deferral_days == settings["deferral_days"]
    assert list(terminal.terminal.currencies) == settings["currencies"]
    assert list(terminal.terminal.languages) == settings["languages"]
    assert terminal.terminal.timezone == settings["timezone"]
    assert terminal.return_ok_url == settings["return_ok_url"]
    assert terminal.merchant_name == settings["merchant_name"]


@pytest.mark.parametrize("setting", list(_documented_configuration()["terminals"]["0900157"]))
def test_every_documented_setting_is_one_the_code_reads(setting: str) -> None:
    """A setting misspelt in the README would be silently ignored: each one, made unusable, must be refused
    under its own name."""
    documented = _documented_configuration()
    documented["terminals"]["0900157"][setting] = 12345
    with pytest.raises(ConfigurationError, match=rf"^terminals\.0900157\.{setting}: "):
        Terminals.from_mapping(documented)


@pytest.mark.parametrize("name", ["accepted", "refused", "tampered"])
def test_the_bodies_the_readme_verifies_are_those_of_the_sample_events(name: str) -> None:
    event = json.loads((ROOT / "events" / f"confirmation_{name}.json").read_text())
    assert base64.b64decode(event["body"]) == (ROOT / "events" / f"confirmation_{name}.txt").read_bytes()


def test_the_documented_rotation_takes_both_keys_on_confirmations_until_its_date() -> None:
    from datetime import datetime, timedelta

    from sealing import MerchantKey

    new_key = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    text = block_under("Rotate a terminal's key", "json").text
    rotation = json.loads(text.replace("<the new key>", new_key).replace("<the key until now>", TEST_KEY))
    documented = _documented_configuration()
    documented["terminals"]["0900157"].update(rotation)
    terminal = Terminals.from_mapping(documented).get("0900157")
    until = datetime.fromisoformat(rotation["previous_key_until"])
    assert terminal.terminal.key == MerchantKey(new_key)
    assert terminal.confirmation_keys(until) == (MerchantKey(new_key), MerchantKey(TEST_KEY))
    assert terminal.confirmation_keys(until + timedelta(seconds=1)) == (MerchantKey(new_key),)
