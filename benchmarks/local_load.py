"""The local stack under load, for information: ``python -m local`` started as ``make run`` starts it (with the
virtual environment already built), then 8 senders posting sealed first acceptances to ``POST /confirmation``.

The orders are written beforehand straight into the stack's moto (BatchWriteItem), so that only confirmations
are timed. Every answer must be ``cdr=0``; a sender that gets anything else stops the run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from orders.model import Order, OrderStatus
from orders.sessions import first_session
from orders.store import order_to_item
from orders.terminals import PaymentMode
from sealing import Money

ROOT = Path(__file__).resolve().parents[1]
SENDERS = 8
ACK_OK = "version=2\ncdr=0\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - 127.0.0.1 only
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextmanager
def local_stack() -> Iterator[tuple[str, str, str, float]]:
    """The stack's API URL, moto endpoint, orders table, and the seconds it took to answer."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_SANDBOX": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the local stack exited: {banner}")
            banner += line
        seconds = time.monotonic() - started
        # The stack logs every request: keep reading, or its pipe fills and it blocks on its next line.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        endpoint = re.search(r"AWS \(moto\)\s+(\S+)\s+tables: (.*)", banner)
        if endpoint is None:
            raise RuntimeError(f"no moto endpoint in the banner: {banner}")
        table = next(name.strip() for name in endpoint[2].split(",") if "orders" in name.lower())
        yield f"http://127.0.0.1:{port}", endpoint[1], table, seconds
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _orders(endpoint: str, table: str, count: int, now: datetime) -> list[str]:
    """``count`` orders awaiting payment, written 25 to a request; their first sessions' bank references."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    serializer = TypeSerializer()
    references: list[str] = []
    requests = []
    for number in range(count):
        reference = f"L{number:09d}"
        order = Order(
            reference=reference, tpe="0900157", mode=PaymentMode.IMMEDIATE, status=OrderStatus.AWAITING_PAYMENT,
            amount=Money(Decimal("62.73"), "EUR"), email="buyer@example.com", language="FR", created_at=now,
            checkout_token_hash="0" * 64, sessions=(first_session(reference, now),),
        )  # fmt: skip
        references.append(order.sessions[0].bank_reference)
        item = order_to_item(order)
        requests.append({"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}})
    for start in range(0, len(requests), 25):
        batch: dict[str, Any] = {table: requests[start : start + 25]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch)["UnprocessedItems"]
    return references


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def stack_figures(seconds: float = 10.0, orders: int = 2000) -> list[Any]:
    from benchmarks.figures import Figure, sealed_confirmation

    with local_stack() as (url, endpoint, table, start_seconds):
        references = iter(_orders(endpoint, table, orders, datetime.now(UTC)))
        lock = threading.Lock()
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + seconds

        def send() -> None:
            while time.monotonic() < stop_at and not errors:
                with lock:
                    reference = next(references, None)
                if reference is None:
                    errors.append("ran out of orders: raise orders=")
                    return
                body = sealed_confirmation(reference, "payetest")
                began = time.perf_counter()
                try:
                    status, text = _post(f"{url}/confirmation", body)
                except OSError as exc:
                    errors.append(f"no answer: {exc}")
                    return
                elapsed = time.perf_counter() - began
                if (status, text) != (200, ACK_OK):
                    errors.append(f"{status} {text!r}")
                    return
                with lock:
                    latencies.append(elapsed)

        began = time.monotonic()
        senders = [threading.Thread(target=send) for _ in range(SENDERS)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"a confirmation was not acknowledged: {errors[0]}")
    return [
        Figure("confirmations_per_second", len(latencies) / elapsed),
        Figure("confirmation_p50_ms", _percentile(latencies, 0.50) * 1000),
        Figure("confirmation_p99_ms", _percentile(latencies, 0.99) * 1000),
        Figure("make_run_seconds", start_seconds),
    ]
