"""template.yaml as an application of the AWS Serverless Application Repository (SAR): its ``Metadata`` within
AWS's limits, one version and one source URL for the whole repository, and the resource types SAR takes.

AWS's pages, read for these tests:
- the metadata's properties and their limits: AWS SAM Developer Guide, "AWS SAM template Metadata section
  properties",
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html
- the resource types SAR takes: AWS Serverless Application Repository Developer Guide, "List of Supported AWS
  Resources", https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from stacktools.template import ROOT, Template

DEPLOYING = ROOT / "docs" / "publish.md"

# "List of Supported AWS Resources" (URL above), copied from the page's source as AWS last published it on GitHub
# (awsdocs/aws-serverlessrepo-developer-guide, doc_source/list-supported-resources.md), with the entries the live
# page adds at its head (Amazon MQ, ApiGateway::Account, ApplicationAutoScaling::AutoScalingGroup). The live page
# may list more since: SAR itself has the last word, answering a publish with "The template contains unsupported
# resource types. [...]".
SAR_SUPPORTED = frozenset(
    re.findall(
        r"AWS::[\w:]+",
        """
    AWS::AccessAnalyzer::Analyzer AWS::AmazonMQ::Broker AWS::AmazonMQ::Configuration
    AWS::AmazonMQ::ConfigurationAssociation AWS::ApiGateway::Account AWS::ApiGateway::ApiKey
    AWS::ApiGateway::Authorizer AWS::ApiGateway::BasePathMapping AWS::ApiGateway::ClientCertificate
    AWS::ApiGateway::Deployment AWS::ApiGateway::DocumentationPart AWS::ApiGateway::DocumentationVersion
    AWS::ApiGateway::DomainName AWS::ApiGateway::GatewayResponse AWS::EC2::SecurityGroup AWS::ApiGateway::Method
    AWS::ApiGateway::Model AWS::ApiGateway::RequestValidator AWS::ApiGateway::Resource AWS::ApiGateway::RestApi
    AWS::ApiGateway::Stage AWS::ApiGateway::UsagePlan AWS::ApiGateway::UsagePlanKey AWS::ApiGateway::VpcLink
    AWS::ApiGatewayV2::Api AWS::ApiGatewayV2::ApiMapping AWS::ApiGatewayV2::Authorizer AWS::ApiGatewayV2::DomainName
    AWS::ApiGatewayV2::Deployment AWS::ApiGatewayV2::Integration AWS::ApiGatewayV2::IntegrationResponse
    AWS::ApiGatewayV2::Model AWS::ApiGatewayV2::Route AWS::ApiGatewayV2::RouteResponse AWS::ApiGatewayV2::Stage
    AWS::AppSync::ApiKey AWS::AppSync::DataSource AWS::AppSync::GraphQLApi AWS::AppSync::GraphQLSchema
    AWS::AppSync::Resolver AWS::ApplicationAutoScaling::AutoScalingGroup AWS::ApplicationAutoScaling::ScalableTarget
    AWS::ApplicationAutoScaling::ScalingPolicy AWS::Athena::NamedQuery AWS::CertificateManager::Certificate
    AWS::CloudFormation::CustomResource AWS::CloudFormation::Interface AWS::CloudFormation::Macro
    AWS::CloudFormation::WaitConditionHandle AWS::CloudFront::CloudFrontOriginAccessIdentity
    AWS::CloudFront::Distribution AWS::CloudFront::StreamingDistribution AWS::CloudTrail::Trail
    AWS::CloudWatch::Alarm AWS::CloudWatch::AnomalyDetector AWS::CloudWatch::Dashboard AWS::CloudWatch::InsightRule
    AWS::CodeBuild::Project AWS::CodeCommit::Repository AWS::CodePipeline::CustomActionType
    AWS::CodePipeline::Pipeline AWS::CodePipeline::Webhook AWS::Cognito::IdentityPool
    AWS::Cognito::IdentityPoolRoleAttachment AWS::Cognito::UserPool AWS::Cognito::UserPoolClient
    AWS::Cognito::UserPoolDomain AWS::Cognito::UserPoolGroup AWS::Cognito::UserPoolResourceServer
    AWS::Cognito::UserPoolUser AWS::Cognito::UserPoolUserToGroupAttachment AWS::Config::AggregationAuthorization
    AWS::Config::ConfigRule AWS::Config::ConfigurationAggregator AWS::Config::ConfigurationRecorder
    AWS::Config::DeliveryChannel AWS::Config::RemediationConfiguration AWS::DataPipeline::Pipeline
    AWS::DynamoDB::Table AWS::ECR::Repository AWS::Elasticsearch::Domain AWS::Events::EventBusPolicy
    AWS::Events::Rule AWS::EventSchemas::Discoverer AWS::EventSchemas::Registry AWS::EventSchemas::Schema
    AWS::Glue::Classifier AWS::Glue::Connection AWS::Glue::Crawler AWS::Glue::Database AWS::Glue::DevEndpoint
    AWS::Glue::Job AWS::Glue::Partition AWS::Glue::Table AWS::Glue::Trigger AWS::IAM::Group
    AWS::IAM::InstanceProfile AWS::IAM::ManagedPolicy AWS::IAM::Policy AWS::IAM::Role AWS::IoT::Certificate
    AWS::IoT::Policy AWS::IoT::PolicyPrincipalAttachment AWS::IoT::Thing AWS::IoT::ThingPrincipalAttachment
    AWS::IoT::TopicRule AWS::KMS::Alias AWS::KMS::Key AWS::Kinesis::Stream AWS::Kinesis::StreamConsumer
    AWS::Kinesis::Streams AWS::KinesisAnalytics::Application AWS::KinesisAnalytics::ApplicationOutput
    AWS::KinesisFirehose::DeliveryStream AWS::Lambda::Alias AWS::Lambda::EventInvokeConfig
    AWS::Lambda::EventSourceMapping AWS::Lambda::Function AWS::Lambda::LayerVersion
    AWS::Lambda::LayerVersionPermission AWS::Lambda::Permission AWS::Lambda::Version AWS::Logs::Destination
    AWS::Logs::LogGroup AWS::Logs::LogStream AWS::Logs::MetricFilter AWS::Logs::SubscriptionFilter
    AWS::Route53::HealthCheck AWS::Route53::HostedZone AWS::Route53::RecordSet AWS::Route53::RecordSetGroup
    AWS::S3::Bucket AWS::S3::BucketPolicy AWS::SNS::Subscription AWS::SNS::Topic AWS::SNS::TopicPolicy
    AWS::SQS::Queue AWS::SQS::QueuePolicy AWS::SSM::Association AWS::SSM::Document AWS::SSM::MaintenanceWindowTask
    AWS::SSM::Parameter AWS::SSM::PatchBaseline AWS::SSM::ResourceDataSync AWS::Serverless::Api
    AWS::Serverless::Application AWS::Serverless::Function AWS::Serverless::HttpApi AWS::Serverless::LayerVersion
    AWS::Serverless::SimpleTable AWS::Serverless::StateMachine AWS::StepFunctions::Activity
    AWS::StepFunctions::StateMachine
    """,
    )
)

# The template's types that list lacks: SAR refuses to publish a version of the template while it holds them
# (docs/publish.md says so, and names each). The orders' event bus and its archive, the shop's webhook (an API
# destination and its connection), the web ACL on the public routes, the tables' backup plan, and the X-Ray
# sampling rule. `make deploy` deploys them all; only the console's one-click deployment waits for SAR to take them.
NOT_TAKEN_BY_SAR = frozenset(
    {
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
        "AWS::Backup::BackupVault",
        "AWS::Events::ApiDestination",
        "AWS::Events::Archive",
        "AWS::Events::Connection",
        "AWS::Events::EventBus",
        "AWS::SecretsManager::Secret",
        "AWS::WAFv2::IPSet",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
        "AWS::XRay::SamplingRule",
    }
)

# The metadata page's limits (URL above).
NAME = re.compile(r"[a-zA-Z0-9\-]{1,140}")
AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:\/@]{1,127}$")
# semver.org's grammar (https://semver.org/spec/v2.0.0.html), as SemanticVersion requires.
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
# A Keep a Changelog heading naming a version: "## [0.1.0] - 2026-05-01", or "## [0.1.0] - Unreleased".
CHANGELOG_VERSION = re.compile(r"^## \[(\d[^\]]*)\]", flags=re.MULTILINE)


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def application(template: Template) -> dict[str, Any]:
    return dict(template.data["Metadata"]["AWS::ServerlessRepo::Application"])


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"])


def latest_changelog_version() -> str:
    found = CHANGELOG_VERSION.search((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert found, "CHANGELOG.md has no heading naming a version, such as '## [0.1.0] - Unreleased'"
    return found.group(1)


def test_the_application_has_what_sar_requires_within_its_limits(application: dict[str, Any]) -> None:
    assert NAME.fullmatch(application["Name"]), application["Name"]
    assert 1 <= len(application["Description"]) <= 256, "Description: 1 to 256 characters"
    assert len(application["Author"]) <= 127, "Author: at most 127 characters"
    assert AUTHOR.match(application["Author"]), f"Author {application['Author']!r}: lower case words and hyphens"
    labels = application["Labels"]
    assert 1 <= len(labels) <= 10, "at most 10 labels"
    assert [label for label in labels if not LABEL.match(label)] == []
    assert SEMVER.fullmatch(application["SemanticVersion"]), application["SemanticVersion"]
    for value in application.values():
        assert isinstance(value, str | list), "no intrinsic function: SAR's metadata takes none"


def test_the_application_is_named_and_licensed_as_the_project(
    application: dict[str, Any], project: dict[str, Any]
) -> None:
    assert application["Name"] == project["name"]
    assert application["SpdxLicenseId"] == project["license"] == "Apache-2.0"


@pytest.mark.parametrize(("field", "path"), [("LicenseUrl", "LICENSE"), ("ReadmeUrl", "README.md")])
def test_the_licence_and_readme_are_the_repository_files_sam_package_uploads(
    application: dict[str, Any], field: str, path: str
) -> None:
    """A local path, which `sam package` uploads to the bucket and replaces by its S3 URL (`sam publish` takes
    only that); at most 5 MB."""
    assert application[field] == path
    assert (ROOT / path).stat().st_size <= 5 * 1024 * 1024


def test_one_version_the_template_pyproject_and_the_changelog(
    application: dict[str, Any], project: dict[str, Any]
) -> None:
    assert application["SemanticVersion"] == project["version"] == latest_changelog_version(), (
        "template.yaml's SemanticVersion, pyproject.toml's version and CHANGELOG.md's latest version heading differ"
    )


def test_the_changelog_heading_is_read_as_keep_a_changelog_writes_it() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [1.2.0] - 2026-05-01\n\n## [1.1.0] - 2026-04-01\n"
    found = CHANGELOG_VERSION.search(text)
    assert found
    assert found.group(1) == "1.2.0"


def test_one_source_url_given_in_pyproject(application: dict[str, Any], project: dict[str, Any]) -> None:
    """SAR takes no intrinsic function, so the template repeats the URL: this test holds the two together."""
    urls = project["urls"]
    assert application["SourceCodeUrl"] == urls["Source"]
    assert application["HomePageUrl"] == urls["Homepage"]
    assert urls["Source"].startswith("https://")


def test_the_template_s_resource_types_that_sar_does_not_take_are_the_ones_named(template: Template) -> None:
    types = {resource["Type"] for resource in template.resources.values()}
    not_taken = types - SAR_SUPPORTED
    assert sorted(not_taken - NOT_TAKEN_BY_SAR) == [], (
        "a resource type the Serverless Application Repository does not take: publishing fails on it"
    )
    assert sorted(NOT_TAKEN_BY_SAR - not_taken) == [], "a type named as not taken that the template no longer has"


def test_the_deploying_guide_names_each_type_sar_does_not_take() -> None:
    text = DEPLOYING.read_text(encoding="utf-8")
    assert sorted(name for name in NOT_TAKEN_BY_SAR if f"`{name}`" not in text) == []
