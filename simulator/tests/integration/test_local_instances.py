"""The local stack runs functions as Lambda does: an instance handles one event at a time, and events at once go to
more instances (each the handler's module imported afresh), so no handler has to be safe for two events at once."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local import LocalConfig, LocalStack
from stacktools.template import Template, load_yaml

# Shared by every instance, as the world outside an execution environment is: a meeting point, and what each
# instance saw.
MEETING = """
import threading

both_inside = threading.Barrier(2, timeout=5)
most_at_once = {}  # instance module -> the most events it ran at once
"""

# A plain Powertools resolver whose route reads the request it answers after the other request came in.
APP = """
import time

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

import meeting

app = APIGatewayRestResolver()
running = 0  # this instance's events in progress


@app.get("/meet/<name>")
def meet(name):
    meeting.both_inside.wait()
    return {"name": name, "path": app.current_event.path, "instance": __name__}


@app.get("/count/<name>")
def count(name):
    global running
    running += 1
    meeting.most_at_once[__name__] = max(running, meeting.most_at_once.get(__name__, 0))
    time.sleep(0.05)
    running -= 1
    return {"name": name, "instance": __name__}


def handler(event, context):
    return app.resolve(event, context)
"""

TEMPLATE = """
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: shared/}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Layers: [!Ref Shared]
      Events:
        Meet: {Type: Api, Properties: {Path: "/meet/{name}", Method: get}}
        Count: {Type: Api, Properties: {Path: "/count/{name}", Method: get}}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "meeting.py").write_text(MEETING)
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(APP)
    template = Template(data=load_yaml(TEMPLATE), path=tmp_path / "template.yaml", root=tmp_path)
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=None, instances_per_function=2)
    try:
        with LocalStack(config, template=template) as running:
            yield running
    finally:
        sys.modules.pop("meeting", None)


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode()}


def test_two_requests_at_once_are_served_by_two_instances_each_answering_its_own(stack: LocalStack) -> None:
    """Each request waits inside the route until the other is in too: one instance running one event at a time
    would keep the second out, and the first would give up waiting. Then each reads the request it answers."""
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(_get, [f"{stack.base_url}/meet/{name}" for name in ("ann", "bob")]))
    assert [(status, body.get("name"), body.get("path")) for status, body in answers] == [
        (200, "ann", "/meet/ann"),
        (200, "bob", "/meet/bob"),
    ]
    assert {body["instance"] for _, body in answers} == {"_local_Fn_app_1", "_local_Fn_app_2"}


def test_an_instance_never_runs_two_events_at_once(stack: LocalStack) -> None:
    import meeting  # type: ignore[import-not-found]  # the template's layer, on the path while the stack runs

    names = [f"n{index}" for index in range(8)]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(_get, [f"{stack.base_url}/count/{name}" for name in names]))
    assert [(status, body.get("name")) for status, body in answers] == [(200, name) for name in names]
    instances = {body["instance"] for _, body in answers}
    assert instances == {"_local_Fn_app_1", "_local_Fn_app_2"}  # more events than instances: the rest waited
    assert meeting.most_at_once == dict.fromkeys(instances, 1)
    assert [instance.events for instance in stack.functions["Fn"].instances.instances] == [
        sum(body["instance"] == f"_local_Fn_app_{number}" for _, body in answers) for number in (1, 2)
    ]
