"""What a merchant deploying the application from the Serverless Application Repository's console acknowledges:
the capabilities the deployed template (after the SAM transform) calls for, each named in docs/publish.md, and
no other.

AWS Serverless Application Repository Developer Guide, "Application Capabilities: IAM Roles, Resource Policies,
and Nested Applications",
https://docs.aws.amazon.com/serverlessrepo/latest/devguide/acknowledging-application-capabilities.html: the
resource types that call for each capability, copied below.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacktools.template import ROOT
from tests.support.deployed import transformed

IAM = {"AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::Role"}
RESOURCE_POLICIES = {
    "AWS::Lambda::LayerVersionPermission",
    "AWS::Lambda::Permission",
    "AWS::Events::EventBusPolicy",
    "AWS::IAM::Policy",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
}
NESTED_APPLICATIONS = {"AWS::Serverless::Application", "AWS::CloudFormation::Stack"}
CUSTOM_NAMES = ("RoleName", "GroupName", "InstanceProfileName", "PolicyName")
CAPABILITY = re.compile(r"`(CAPABILITY_[A-Z_]+)`")


def required_capabilities(resources: dict[str, Any]) -> set[str]:
    types = {resource["Type"] for resource in resources.values()}
    named_iam = any(
        resource["Type"] in IAM and any(name in (resource.get("Properties") or {}) for name in CUSTOM_NAMES)
        for resource in resources.values()
    )
    required = set()
    if types & IAM:
        required.add("CAPABILITY_NAMED_IAM" if named_iam else "CAPABILITY_IAM")
    if types & RESOURCE_POLICIES:
        required.add("CAPABILITY_RESOURCE_POLICY")
    if types & NESTED_APPLICATIONS:
        required.add("CAPABILITY_AUTO_EXPAND")
    return required


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    """Every resource, conditional ones included: the transform keeps them all, with their conditions."""
    return transformed()


def test_the_capabilities_are_read_from_the_types_as_aws_lists_them() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {}}
    assert required_capabilities({"R": role}) == {"CAPABILITY_IAM"}
    named = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}
    permission = {"Type": "AWS::Lambda::Permission"}
    assert required_capabilities({"R": named, "P": permission}) == {
        "CAPABILITY_NAMED_IAM",
        "CAPABILITY_RESOURCE_POLICY",
    }
    assert required_capabilities({"N": {"Type": "AWS::Serverless::Application"}}) == {"CAPABILITY_AUTO_EXPAND"}


def test_the_deploying_guide_names_the_capabilities_the_template_calls_for(deployed: dict[str, Any]) -> None:
    required = required_capabilities(deployed["Resources"])
    assert required == {"CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"}
    text = (ROOT / "docs" / "publish.md").read_text(encoding="utf-8")
    section = text.partition("## Deploy from the Serverless Application Repository's console")[2]
    assert section, "docs/publish.md has no section on deploying from the console"
    assert set(CAPABILITY.findall(section.partition("\n## ")[0])) == required
