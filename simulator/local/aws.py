"""The embedded AWS: a moto server on 127.0.0.1, the process pointed at it, tables and secrets made locally.

moto keeps its state per process (a second server in the same process sees the same tables), so a server
is reset when it starts: each local stack starts from an empty account.

Every boto3 client of the process (the handlers' included) reaches moto through ``AWS_ENDPOINT_URL``, with
fake credentials. ``Environ`` sets those variables and puts back what was there before.
Tables are created from the template's ``AWS::DynamoDB::Table`` properties, not from a copy of them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from stacktools.dynamodb_lock import SerialisedWsgi
from stacktools.tables import create_table_request

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"  # noqa: S105 - a fake credential for the embedded moto server, on purpose

# Variables that would send a boto3 client elsewhere than the local moto server, or with real credentials.
_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


class Environ:
    """Changes to ``os.environ`` that can be undone: ``set``/``unset`` remember the first previous value."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def unset(self, name: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ.pop(name, None)

    def update(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self.set(name, value)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


def point_at(environ: Environ, endpoint_url: str, region: str) -> None:
    """Send every boto3 client of the process to ``endpoint_url`` with fake credentials."""
    for name in _UNSET:
        environ.unset(name)
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]:
        environ.unset(name)  # a service-specific endpoint would win over AWS_ENDPOINT_URL
    environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }
    )


@dataclass
class MotoServer:
    """moto's server on 127.0.0.1 (port 0: a free one), one thread per request, DynamoDB one request at a time.

    What moto's ``ThreadedMotoServer`` does, with its app wrapped in ``SerialisedWsgi`` (see ``dynamodb_lock``):
    moto alone lets two concurrent conditional writes on one item both succeed.
    """

    host: str = "127.0.0.1"
    port: int = 0
    _server: BaseWSGIServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _werkzeug_level: int = field(default=logging.NOTSET, repr=False)

    def start(self) -> str:
        # imported here: moto is slow to import
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        werkzeug = logging.getLogger("werkzeug")
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)  # not one line per AWS call on stderr
        app = SerialisedWsgi(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self.reset()
        return self.url

    def reset(self) -> None:
        """Empty every service: moto's state is per process, and a new stack starts from a blank account."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - 127.0.0.1
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local moto server
            answer.read()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self._server = None
        logging.getLogger("werkzeug").setLevel(self._werkzeug_level)


# ---------------------------------------------------------------------------------------------------------------
# DynamoDB tables from the template.


@dataclass
class TableSetup:
    name: str
    arn: str
    stream_arn: str | None = None
    skipped: list[str] = field(default_factory=list)  # what moto would not do, said out loud


@dataclass(frozen=True)
class QueueSetup:
    name: str
    url: str
    arn: str


def create_table(name: str, properties: Mapping[str, Any], region: str) -> TableSetup:
    """Create a table from its resolved CloudFormation properties, then TTL and point-in-time recovery.

    The keys and indexes are created exactly as declared or not at all (an error). The extras (SSE, TTL, PITR)
    are applied when moto accepts them; what it refuses is listed in ``skipped`` and printed, never hidden.
    """
    client = boto3.client("dynamodb", region_name=region)
    request = create_table_request(name, properties)
    skipped: list[str] = []
    try:
        description = client.create_table(**request)["TableDescription"]
    except client.exceptions.ClientError as exc:
        if "SSESpecification" not in request:
            raise
        del request["SSESpecification"]
        description = client.create_table(**request)["TableDescription"]
        skipped.append(f"SSESpecification ({exc})")
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 20})

    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        try:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl.get("Enabled"))},
            )
        except Exception as exc:  # moto may not do it: say so and go on
            skipped.append(f"TimeToLiveSpecification ({exc})")
    pitr = properties.get("PointInTimeRecoverySpecification")
    if pitr:
        try:
            client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": bool(pitr.get("PointInTimeRecoveryEnabled"))
                },
            )
        except Exception as exc:  # moto may not do it: say so and go on
            skipped.append(f"PointInTimeRecoverySpecification ({exc})")
    for item in skipped:
        print(f"local: table {name}: moto did not accept {item}; skipped", file=sys.stderr)
    return TableSetup(
        name=name,
        arn=description["TableArn"],
        stream_arn=description.get("LatestStreamArn"),
        skipped=skipped,
    )


def put_secret(name: str, value: str, region: str) -> str:
    """Create (or update) a Secrets Manager secret; its ARN."""
    client = boto3.client("secretsmanager", region_name=region)
    try:
        return str(client.create_secret(Name=name, SecretString=value)["ARN"])
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
        return str(client.describe_secret(SecretId=name)["ARN"])


def put_parameter(name: str, value: str, region: str) -> None:
    """Create (or overwrite) an SSM String parameter."""
    boto3.client("ssm", region_name=region).put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def create_event_bus(name: str, region: str) -> str:
    """Create an EventBridge bus; its ARN."""
    client = boto3.client("events", region_name=region)
    return str(client.create_event_bus(Name=name)["EventBusArn"])


def create_bucket(name: str, region: str) -> str:
    """Create an S3 bucket; its ARN."""
    client = boto3.client("s3", region_name=region)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return f"arn:aws:s3:::{name}"


def create_topic(name: str, region: str) -> str:
    """Create an SNS topic; its ARN."""
    client = boto3.client("sns", region_name=region)
    return str(client.create_topic(Name=name)["TopicArn"])
