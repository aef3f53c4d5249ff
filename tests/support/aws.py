"""Test doubles that are real: moto's DynamoDB and Secrets Manager, the table made from template.yaml."""

from __future__ import annotations

import copy
import functools
import importlib.util
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from orders.terminals import MailConfiguration
from stacktools.dynamodb_lock import serialised_dynamodb
from stacktools.tables import create_table_request
from stacktools.template import TEMPLATE_PATH, load_yaml

ROOT = Path(__file__).resolve().parents[2]
_loaded = itertools.count(1)  # the functions' modules imported so far
TEST_KEY = "12345678901234567890123456789012345678P0"


@contextmanager
def serialised_mock_aws() -> Iterator[None]:
    """moto's ``mock_aws``, with DynamoDB one request at a time: conditional writes atomic, as the real ones."""
    from moto import mock_aws  # imported here: moto is slow to import

    with mock_aws(), serialised_dynamodb():
        yield


@functools.cache
def _orders_table_properties() -> dict[str, Any]:
    """OrdersTable's properties, read once per process: parsing the whole template for each test costs more than
    the test."""
    properties: dict[str, Any] = load_yaml(TEMPLATE_PATH.read_text())["Resources"]["OrdersTable"]["Properties"]
    return properties


def create_orders_table(client: Any, name: str) -> None:
    """The table exactly as template.yaml declares it, through the kit's own translation (stacktools.tables)."""
    client.create_table(**create_table_request(name, copy.deepcopy(_orders_table_properties())))


def terminals_config(**overrides: dict[str, Any]) -> dict[str, Any]:
    common = {"key": TEST_KEY, "societe": "boutiqueducd", "bank": "cic", "environment": "test", "seal": "dsp2"}
    terminals: dict[str, dict[str, Any]] = {
        "0900157": {**common, "mode": "immediate", "merchant_name": "La boutique du CD"},
        "0900158": {**common, "mode": "deferred", "deferral_days": 3, "end_policy": "validate"},
        "0900159": {**common, "mode": "deferred_authorization", "deferral_days": 7, "end_policy": "cancel"},
        "0900160": {**common, "mode": "immediate", "environment": "production"},
        "0900161": {**common, "mode": "immediate", "seal": "legacy"},
    }
    for tpe, changes in overrides.items():
        terminals[tpe] = {**terminals.get(tpe, common), **changes}
    return {"default_tpe": "0900157", "terminals": terminals}


def mail_config(**by_tpe: dict[str, Any]) -> dict[str, Any]:
    """The mail settings document (MailSettingsParameter) for the terminals named, each named as the shop."""
    return {"terminals": {tpe: {"merchant_name": "La boutique du CD", **settings} for tpe, settings in by_tpe.items()}}


def mail_settings(**by_tpe: dict[str, Any]) -> MailConfiguration:
    """``mail_config`` parsed, as the mail function reads it."""
    return MailConfiguration.from_mapping(mail_config(**by_tpe))


def load_function(name: str) -> ModuleType:
    """A function's ``app`` module, imported afresh from its file under a name of its own (as the local stack
    makes an instance)."""
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"function_{name}_app_{next(_loaded)}", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: dataclasses and pickling look the module up there
    spec.loader.exec_module(module)
    return module


def event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())  # type: ignore[no-any-return]


# boto3 sends a stream call naming a stream ARN to an account-based endpoint that moto's in-process mock does not
# know; the regional one it does.
TABLE_STREAM_ENDPOINT = "https://streams.dynamodb.eu-west-3.amazonaws.com"
