"""The orders kept: a daily AWS Backup plan by parameter, and a kept table re-attached to a new stack.

moto runs neither AWS Backup nor CloudFormation's resource import: the template is held to the AWS documentation
each rule follows, and the import's files are checked against template.yaml (cfn-lint reads the import template in
tests/integration/test_import_table.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stacktools.import_table import import_template, main, resources_to_import
from stacktools.template import ROOT, Resolver, Template, TemplateError
from tests.support.readme import printed_commands, text


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


# -- the daily backup -------------------------------------------------------------------------------------------------

BACKUP = ("OrdersBackupVault", "OrdersBackupPlan", "OrdersBackupRole", "OrdersBackupSelection")


def test_the_backup_plan_is_a_choice_off_by_default(template: Template) -> None:
    assert template.parameters["OrdersBackupDays"]["Default"] == 0
    assert not Resolver(template).condition("BacksUpOrders")
    assert Resolver(template, parameters={"OrdersBackupDays": "35"}).condition("BacksUpOrders")
    for name in BACKUP:
        assert template.resources[name]["Condition"] == "BacksUpOrders", name


def test_the_plan_backs_up_the_orders_table_every_day_and_keeps_it_the_days_asked(template: Template) -> None:
    """AWS Backup developer guide, "Creating a backup plan" (a rule: its vault, a cron schedule, a lifecycle whose
    DeleteAfterDays ends each recovery point) and "Assigning resources to a backup plan" (a selection: the
    resources by ARN, and the IAM role AWS Backup assumes, backup.amazonaws.com, with AWS's managed
    AWSBackupServiceRolePolicyForBackup)."""
    (rule,) = template.properties_of("OrdersBackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert rule["TargetBackupVault"] == {"Ref": "OrdersBackupVault"}
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", rule["ScheduleExpression"]), "once a day"
    assert rule["Lifecycle"] == {"DeleteAfterDays": {"Ref": "OrdersBackupDays"}}
    selection = template.properties_of("OrdersBackupSelection")
    assert selection["BackupPlanId"] == {"Ref": "OrdersBackupPlan"}
    assert selection["BackupSelection"]["Resources"] == [{"Fn::GetAtt": ["OrdersTable", "Arn"]}]
    assert selection["BackupSelection"]["IamRoleArn"] == {"Fn::GetAtt": ["OrdersBackupRole", "Arn"]}
    role = template.properties_of("OrdersBackupRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == ({"Service": "backup.amazonaws.com"}, "sts:AssumeRole")
    managed = [arn["Fn::Sub"].rsplit("/", 1)[1] for arn in role["ManagedPolicyArns"]]
    assert managed == ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]
    vault = template.resources["OrdersBackupVault"]
    assert (vault["DeletionPolicy"], vault["UpdateReplacePolicy"]) == ("Retain", "Retain"), "backups outlive the stack"


# -- a kept table, re-attached to a new stack ------------------------------------------------------------------------


def test_the_import_template_is_the_orders_table_alone_as_template_yaml_declares_it(template: Template) -> None:
    """CloudFormation user guide, "Import AWS resources into a CloudFormation stack": an IMPORT change set creates
    nothing but the imported resources, each with a DeletionPolicy; its template declares the resource as it
    exists, so the update that follows (`sam deploy`) finds nothing to change on it."""
    body = import_template(template)
    assert list(body["Resources"]) == ["OrdersTable"]
    assert body["Resources"]["OrdersTable"] == template.resources["OrdersTable"]
    assert body["Resources"]["OrdersTable"]["DeletionPolicy"] == "Retain"
    assert "Transform" not in body, "an import template is plain CloudFormation"
    assert "TableName" not in body["Resources"]["OrdersTable"]["Properties"], "the name comes from the import"
    assert not re.search(r'"(Ref|Fn::\w+)"', json.dumps(body)), "nothing to resolve: no parameter, no other resource"


def test_the_kept_table_is_named_by_its_import_identifier() -> None:
    assert resources_to_import("merchant-kit-OrdersTable-1A2B3C4D") == [
        {
            "ResourceType": "AWS::DynamoDB::Table",
            "LogicalResourceId": "OrdersTable",
            "ResourceIdentifier": {"TableName": "merchant-kit-OrdersTable-1A2B3C4D"},
        }
    ]
    for wrong in ("", "ab", "orders table", "orders/table"):
        with pytest.raises(TemplateError, match="not a DynamoDB table name"):
            resources_to_import(wrong)


def test_the_command_writes_the_files_the_readme_imports(tmp_path: Path, template: Template) -> None:
    assert main(["merchant-kit-OrdersTable-1A2B3C4D", str(tmp_path)]) == 0
    written = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in tmp_path.iterdir()}
    assert written["import-orders-table.json"] == import_template(template)
    assert written["resources-to-import.json"] == resources_to_import("merchant-kit-OrdersTable-1A2B3C4D")
    assert main(["a b", str(tmp_path)]) == 2
    documentation = text()
    (command,) = [c for c in _commands() if "--change-set-type" in c]
    arguments = _options(command)
    assert arguments["--change-set-type"] == "IMPORT"
    assert arguments["--resources-to-import"] == "file://resources-to-import.json"
    assert arguments["--template-body"] == "file://import-orders-table.json"
    assert ".venv/bin/python -m stacktools.import_table" in documentation


def _commands() -> list[list[str]]:
    """Every shell command the documentation prints, continuation lines joined."""
    return [command.words for command in printed_commands()]


def _options(command: list[str]) -> dict[str, Any]:
    return {word: command[i + 1] for i, word in enumerate(command[:-1]) if word.startswith("--")}
