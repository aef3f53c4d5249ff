"""The documentation's examples hold as printed (the README and the site's pages): the terminal configuration, the
rotation and the bodies `sealing verify` reads; the deploy pages against template.yaml. (The commands run in the
tests simulator/tests/unit/test_docs_commands.py names.)"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from orders.exceptions import ConfigurationError
from orders.sessions import ORDER_REFERENCE_LENGTH, bank_reference, order_reference_of
from orders.terminals import PaymentMode, Terminals
from stacktools.template import Template
from tests.support.readme import ROOT, block_under, documents, table_rows, text

TEST_KEY = "12345678901234567890123456789012345678P0"
NAME = re.compile(r"`(\w+)`")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


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
    """A setting misspelt in the documentation would be silently ignored: each one, made unusable, must be refused
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


# -- the deploy section against template.yaml: every alarm, parameter and output a merchant meets is explained ----


def test_every_alarm_of_the_template_has_its_row_saying_when_it_fires_and_what_to_do(template: Template) -> None:
    rows = {row[0].strip("`"): row for row in table_rows("Alarms: what they mean, what to do")}
    alarms = set(template.resources_of_type("AWS::CloudWatch::Alarm"))
    assert sorted(alarms - set(rows)) == [], "alarms the alarm table (docs/operate.md) does not explain"
    assert sorted(set(rows) - alarms) == [], "rows of the alarm table for alarms the template lacks"
    for name, (_, fires_when, what_to_do) in rows.items():
        assert len(fires_when) > 20, f"{name}: say when it fires"
        assert len(what_to_do) > 20, f"{name}: say what to do"


def _documented_defaults() -> dict[str, str]:
    """Each parameter of the parameters' table (docs/deploy.md) and its default cell, one value per name of a row
    (`A`, `B` | `1`, `2`)."""
    defaults = {}
    for cell, default, _ in table_rows("Parameters"):
        names = NAME.findall(cell)
        values = re.sub(r" \(.*\)$", "", default).split(", ")  # "`0` (`prod`: `20`)": the template's default
        values = values if len(values) == len(names) else [default] * len(names)
        defaults.update(zip(names, values, strict=True))
    return defaults


def test_every_parameter_of_the_template_has_its_row_with_the_templates_default(template: Template) -> None:
    documented = _documented_defaults()
    parameters = template.parameters
    assert sorted(set(parameters) - set(documented)) == [], "parameters the parameters' table does not explain"
    assert sorted(set(documented) - set(parameters)) == [], "rows of the parameters' table for parameters not there"
    for name, parameter in parameters.items():
        if "Default" not in parameter:
            assert documented[name].startswith("(asked"), f"{name} has no default: the deployer is asked"
        elif parameter["Default"] == "":
            assert documented[name] == "empty", name
        else:
            assert documented[name] == f"`{parameter['Default']}`", f"{name}: the template's default"


def test_every_stack_output_is_named_in_the_documentation(template: Template) -> None:
    documentation = text()
    unnamed = [name for name in template.data["Outputs"] if not re.search(rf"\b{name}\b", documentation)]
    assert unnamed == [], "stack outputs the documentation never names"


# An example's reference, wherever the documentation quotes one in JSON or in the reconciliation's detail.
_QUOTED_REFERENCE = re.compile(r'"(reference|bank_reference|event_id)": "([^"/]*)|the bank shows (\S+) paid')


def test_every_example_reference_is_shaped_as_the_kit_makes_them() -> None:
    found = []
    for document in documents():
        for match in _QUOTED_REFERENCE.finditer(document.read_text()):
            found.append((match[1] or "bank_reference", match[2] if match[1] else match[3]))
    assert {kind for kind, _ in found} == {"reference", "bank_reference", "event_id"}
    for kind, reference in found:
        order_reference = order_reference_of(reference) if kind == "bank_reference" else reference
        assert order_reference is not None, reference
        assert len(order_reference) == ORDER_REFERENCE_LENGTH, reference
        assert re.fullmatch(r"[0-9A-Z]+", reference), reference
        if kind == "bank_reference":
            assert reference == bank_reference(order_reference, int(reference[-2:], 36)), reference
