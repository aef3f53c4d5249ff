"""The bank's route as CloudFormation receives it after the SAM transform: the web ACL on SAM's one stage, and the
route's detailed metrics that its 4XX alarm watches (tests/unit/test_bank_route.py holds the rules themselves)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.deployed import transformed


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    return dict(transformed(WebAcl="true")["Resources"])


def test_the_web_acl_is_associated_with_the_one_stage_sam_makes(resources: dict[str, Any]) -> None:
    """AWS WAF API reference, AssociateWebACL: arn:aws:apigateway:{region}::/restapis/{api-id}/stages/{stage-name};
    the reference to the stage resource also makes CloudFormation create the association after the stage."""
    (stage,) = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::ApiGateway::Stage" and r["Properties"]["RestApiId"] == {"Ref": "Api"}
    ]
    association = resources["WebAclAssociation"]["Properties"]
    assert association["ResourceArn"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{Api}}/stages/${{{stage}}}"
    }
    assert resources[stage]["Properties"]["RestApiId"] == {"Ref": "Api"}


def test_the_confirmation_routes_metrics_are_sent_for_its_alarm(resources: dict[str, Any]) -> None:
    (stage,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Stage" and r["Properties"]["RestApiId"] == {"Ref": "Api"}
    ]
    detailed = [s for s in stage["Properties"]["MethodSettings"] if s.get("MetricsEnabled")]
    assert [(s["HttpMethod"], s["ResourcePath"]) for s in detailed] == [("POST", "/~1confirmation")]
    dimensions = {d["Name"]: d["Value"] for d in resources["ConfirmationRouteRefusedAlarm"]["Properties"]["Dimensions"]}
    assert (dimensions["Method"], dimensions["Resource"]) == ("POST", "/confirmation")
    assert dimensions["Stage"] == stage["Properties"]["StageName"]
