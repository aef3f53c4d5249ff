"""`sam local` against make run's embedded AWS, as far as it goes without Docker.

Each sample event of the `sam local` table (docs/simulator.md) runs in a fresh interpreter (as in a container), in the
environment SAM would give its function: the template's variables, overridden by local/sam-env.json (SAM sets
only declared variables), with the embedded AWS's address in place of the containers' one. The table is seeded
by the same service `make run` uses, and each event gets the answer the page promises, in its order.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local import LocalConfig, LocalStack
from local.samples import SampleOrders
from stacktools.template import ROOT, FunctionSpec, Resolver, Template, TemplateError
from tests.support.readme import section

pytestmark = pytest.mark.e2e

CONTAINER_AWS = "http://host.docker.internal:4566"
ROW = re.compile(r"^\| `events/(?P<event>\w+\.json)` \| `(?P<function>\w+)` \| `(?P<status>\d{3})`(?P<rest>.*)\|$")
INVOKE = """
import json, sys
sys.path[:0] = {path!r}
import app
class Context:
    function_name = {name!r}
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:" + {name!r}
    aws_request_id = "22222222-2222-2222-2222-222222222222"
    def get_remaining_time_in_millis(self):
        return 10_000
print(json.dumps(app.{handler}(json.load(open({event!r})), Context())))
"""


def readme_rows() -> list[dict[str, str]]:
    table = section("In Lambda's containers: `sam local`")
    rows = [match.groupdict() for line in table.splitlines() if (match := ROW.match(line.strip()))]
    for row in rows:
        snippet = re.search(r"`([^`]+)`", row.pop("rest"))
        row["snippet"] = snippet.group(1) if snippet else ""
    return rows


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=None, poll_queues=False)
    with LocalStack(config, services=[SampleOrders()]) as started:
        yield started


def env_file(stack: LocalStack) -> dict[str, str]:
    data = json.loads((ROOT / "simulator" / "local" / "sam-env.json").read_text(encoding="utf-8"))
    # The containers' address of the embedded AWS is this test's moto server.
    return {name: value.replace(CONTAINER_AWS, stack.aws_endpoint_url) for name, value in data["Parameters"].items()}


def sam_environment(function: FunctionSpec, overrides: dict[str, str], template: Template) -> dict[str, str]:
    """What `sam local` gives the function: its declared variables, the file's values first, then the template's."""
    resolver = Resolver(template)
    environment = {}
    for name, value in function.environment.items():
        if name in overrides:
            environment[name] = overrides[name]
            continue
        try:
            environment[name] = str(resolver.resolve(value))
        except TemplateError as exc:
            pytest.fail(f"{function.logical_id}: simulator/local/sam-env.json must give {name} ({exc})")
    return environment


def invoke(function: FunctionSpec, event: str, environment: dict[str, str]) -> dict[str, Any]:
    layers = [str(ROOT / "layers" / "sealing"), str(ROOT / "layers" / "orders")]
    code = INVOKE.format(
        path=[str(function.code_uri), *layers],
        name=function.logical_id,
        handler=function.handler_name,
        event=str(ROOT / "events" / event),
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **environment,
    }
    answer = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-B", "-c", code], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


def test_the_env_file_names_what_make_run_creates(stack: LocalStack) -> None:
    overrides = env_file(stack)
    assert overrides["AWS_ENDPOINT_URL"] == stack.aws_endpoint_url
    assert overrides["ORDERS_TABLE"] == stack.table_name("OrdersTable")
    assert (
        overrides["CONFIRMATION_QUEUE_URL"].rsplit("/", 2)[1:]
        == stack.queues["ConfirmationQueue"].url.rsplit("/", 2)[1:]
    )
    assert stack.secret_arn.split(":secret:")[1].startswith(overrides["TERMINALS_SECRET_ARN"])
    assert CONTAINER_AWS.rsplit(":", 1)[1] == "4566", "the port `make sam-local` tells make run to use"
    assert "LOCAL_AWS_PORT=4566" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_each_sample_event_answers_what_the_readme_promises(stack: LocalStack) -> None:
    template = stack.template
    rows = readme_rows()
    # The table is a payment's journey, in order; events/README.md lists every sample event (each one invoked by
    # simulator/tests/integration/test_local_invoke.py).
    assert {row["event"] for row in rows} <= {path.name for path in (ROOT / "events").glob("*.json")}
    assert {row["function"] for row in rows} == {"Cgi1Function", "CheckoutFunction", "Cgi2Function"}
    overrides = env_file(stack)
    for row in rows:
        event = json.loads((ROOT / "events" / row["event"]).read_text(encoding="utf-8"))
        (route,) = [
            r for r in template.routes() if (r.method, r.path, r.api) == (event["httpMethod"], event["resource"], "Api")
        ]
        assert route.function == row["function"], row
        function = template.function(route.function)
        answer = invoke(function, row["event"], sam_environment(function, overrides, template))
        assert answer["statusCode"] == int(row["status"]), (row, answer)
        assert row["snippet"] in answer["body"], (row, answer["body"][:300])
