"""The local stack's life: what start builds from the template, what stop puts back, failures on the way."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local import LocalConfig, LocalStack, TemplateError
from stacktools.template import ROOT, Template, load_yaml


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _stub(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 204}


def _small_template(tmp_path: Path, body: str) -> Template:
    return Template(data=load_yaml(body), path=tmp_path / "template.yaml", root=tmp_path)


def test_stop_puts_the_process_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere.invalid")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    monkeypatch.delenv("ORDERS_TABLE", raising=False)
    path_before = list(sys.path)
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)
    stack = LocalStack(config, handlers={"Cgi1Function": _stub, "Cgi2Function": _stub})
    stack.start()
    port = stack.port
    assert "AWS_PROFILE" not in os.environ, "a profile would take boto3 away from moto's fake credentials"
    stack.stop()
    assert os.environ["AWS_ENDPOINT_URL"] == "http://elsewhere.invalid"
    assert os.environ["AWS_PROFILE"] == "someone"
    assert "ORDERS_TABLE" not in os.environ
    assert sys.path == path_before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_conflicting_environments_are_refused_and_start_cleans_up(tmp_path: Path) -> None:
    template = _small_template(
        tmp_path,
        """
        Resources:
          A:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: a/, Handler: app.handler, Environment: {Variables: {MODE: one}}}
          B:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: b/, Handler: app.handler, Environment: {Variables: {MODE: two}}}
        """,
    )
    before = os.environ.get("AWS_ENDPOINT_URL")
    stack = LocalStack(LocalConfig(port=0, quiet=True), template=template, handlers={"A": _stub, "B": _stub})
    with pytest.raises(TemplateError, match="MODE"):
        stack.start()
    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_a_broken_reference_stops_the_start(tmp_path: Path) -> None:
    template = _small_template(
        tmp_path,
        """
        Resources:
          A:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: a/, Handler: app.handler, Environment: {Variables: {T: !Ref Nope}}}
        """,
    )
    with pytest.raises(TemplateError, match="Nope"):
        LocalStack(LocalConfig(port=0, quiet=True), template=template, handlers={"A": _stub}).start()


def test_handlers_are_imported_from_their_code_uri(tmp_path: Path) -> None:
    (tmp_path / "layer" / "helper").mkdir(parents=True)
    (tmp_path / "layer" / "helper" / "__init__.py").write_text("GREETING = 'from the layer'\n")
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(
        "import os\nfrom helper import GREETING\n"
        "NAME = os.environ['WHO']\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'body': GREETING + ' to ' + NAME + ' ' + event['pathParameters']['x']}\n"
    )
    template = _small_template(
        tmp_path,
        """
        Resources:
          Layer:
            Type: AWS::Serverless::LayerVersion
            Properties: {ContentUri: layer/}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: fn/
              Handler: app.handler
              Layers: [!Ref Layer]
              Environment: {Variables: {WHO: !Sub "${AWS::Region}"}}
              Events:
                Get: {Type: Api, Properties: {Path: "/hello/{x}", Method: get}}
        """,
    )
    with LocalStack(LocalConfig(port=0, quiet=True), template=template) as stack:
        status, body = _get(f"{stack.base_url}/hello/there")
        [instance] = stack.functions["Fn"].instances.instances
        assert instance.handler.__module__ == "_local_Fn_app_1"
    assert (status, body) == (200, b"from the layer to eu-west-3 there")
    assert str(tmp_path / "fn") not in sys.path
    sys.modules.pop("helper", None)


def test_scheduled_functions_run_on_a_timer(tmp_path: Path) -> None:
    template = _small_template(
        tmp_path,
        """
        Resources:
          Sweeper:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: sweeper/
              Handler: app.handler
              Events:
                Tick: {Type: Schedule, Properties: {Schedule: rate(5 minutes)}}
                Paused: {Type: Schedule, Properties: {Schedule: rate(1 minute), Enabled: false}}
        """,
    )
    ran = threading.Event()
    events: list[Any] = []

    def sweep(event: Any, context: Any) -> dict[str, int]:
        events.append(event)
        ran.set()
        return {"swept": 0}

    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=0.05)
    with LocalStack(config, template=template, handlers={"Sweeper": sweep}) as stack:
        assert ran.wait(5)
        assert stack.schedules is not None
        assert stack.schedules.run_now() == {"Sweeper.Tick": {"swept": 0}}
    count = len(events)
    time.sleep(0.2)
    assert len(events) == count, "the timer stops with the stack"
    assert events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["source"] == "aws.events"
    assert events[0]["resources"] == ["arn:aws:events:eu-west-3:123456789012:rule/merchant-kit-SweeperTick"]


def test_the_sweep_route_refuses_a_body_nested_too_deep(tmp_path: Path) -> None:
    template = _small_template(
        tmp_path,
        """
        Resources:
          Sweeper:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: sweeper/
              Handler: app.handler
              Events:
                Tick: {Type: Schedule, Properties: {Schedule: rate(5 minutes)}}
        """,
    )
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=3600)
    with LocalStack(config, template=template, handlers={"Sweeper": lambda event, context: {}}) as stack:
        url = f"{stack.base_url}/_local/sweep"
        request = urllib.request.Request(url, data=b"[" * 20_000, method="POST")  # noqa: S310 - 127.0.0.1 only
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
    assert status == 400


def _start_main(port: int) -> subprocess.Popen[str]:
    # The bank and the shop on free ports too: a `make run` elsewhere on this machine holds 3001 and 3002.
    env = {**os.environ, "PORT": str(port), "SANDBOX_PORT": "0", "SHOP_PORT": "0", "PYTHONUNBUFFERED": "1"}
    env["LOCAL_SCHEDULE_SECONDS"] = "0"
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_python_m_local_prints_its_urls_and_stops_on_sigint() -> None:
    process = _start_main(0)
    try:
        assert process.stdout is not None
        base_url = ""
        for line in process.stdout:
            if line.strip().startswith("API"):
                base_url = line.split()[1]
            if line.strip().startswith("Ctrl-C"):
                break
        assert base_url.startswith("http://127.0.0.1:")
        status, body = _get(f"{base_url}/_local/health")
        assert status == 200
        assert b'"Cgi1Function"' in body
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert process.stderr is not None
        assert "local: stopping" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_m_local_says_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _start_main(taken.getsockname()[1])
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "choose another port with PORT=" in err


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - 127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_clock_route_moves_the_functions_time_forward_never_back(tmp_path: Path) -> None:
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)
    with LocalStack(config, handlers={"Cgi1Function": _stub, "Cgi2Function": _stub}) as stack:
        url = f"{stack.base_url}/_local/clock"
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        status, answer = _post(url, json.dumps({"now": tomorrow.isoformat()}).encode())
        assert status == 200
        assert abs(datetime.fromisoformat(answer["now"]) - tomorrow) < timedelta(seconds=5)
        assert abs(stack.functions_clock()() - tomorrow) < timedelta(seconds=5), "the functions live in it"
        status, _ = _post(url, json.dumps({"now": datetime.now(UTC).isoformat()}).encode())
        assert status == 200
        assert stack.clock() > tomorrow - timedelta(seconds=5), "time never goes back"
        assert _post(url, b"{}")[0] == 400
        assert _post(url, b'{"now": "2026-12-24T09:00:00"}')[0] == 400  # no offset
