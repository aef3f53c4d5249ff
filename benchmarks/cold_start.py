"""Cold start: importing each built handler as Lambda would, as a ratio to a bare boto3 client.

Lambda imports a handler in a fresh interpreter from read-only directories: the function's code, the layers
(``/opt/python``) and the runtime's boto3. This script does the same with what ``sam build`` made
(``.aws-sam/build``): one fresh ``python -I -S -B`` process per import (no site-packages, nothing written), the
built function and layer directories on ``sys.path``, and boto3 from a compiled copy of this environment's,
as the runtime ships it. It times the handler module's import and, in the same way, a bare
``import boto3; boto3.client("dynamodb")``; the best of several runs of each, interleaved.

The aim is at most 1.3 for the worst handler (``cold_import_ratio``). The same imports from the sources
alone (the ``.pyc`` files left out, as a package built without them runs) are printed for comparison.

    make bench          # builds first, then: .venv/bin/python benchmarks/cold_start.py [--repeat N]
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from stacktools.template import Template  # noqa: E402

BUILD = ROOT / ".aws-sam" / "build"
# What the Lambda runtime provides besides the standard library: boto3 and what it needs.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
BASELINE = "import boto3; boto3.client('dynamodb')"
PROBE = """
import importlib, sys, time
sys.path[:0] = {path!r}
start = time.perf_counter()
{work}
print(time.perf_counter() - start)
"""


@dataclass(frozen=True)
class Handler:
    name: str  # the function's logical id
    module: str  # the handler's module, as Lambda imports it
    path: tuple[str, ...]  # the function's directory, then the layers' python directories


def handlers(template: Template, build: Path) -> list[Handler]:
    found = []
    for spec in template.functions():
        layers = [ref.get("Ref") for ref in spec.properties.get("Layers") or [] if isinstance(ref, dict)]
        path = (str(build / spec.logical_id), *(str(build / str(layer) / "python") for layer in layers))
        missing = [entry for entry in path if not Path(entry).is_dir()]
        if missing:
            raise SystemExit(f"{spec.logical_id}: {missing[0]} is not built: run `make build` first")
        found.append(Handler(spec.logical_id, spec.module_name, path))
    return found


def _top_level(distribution: str) -> set[str]:
    """The top-level packages and modules a distribution installed."""
    names = set()
    for file in importlib.metadata.distribution(distribution).files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".pth")) or first == "__pycache__" or first.startswith(".."):
            continue
        names.add(first)
    return names


@contextmanager
def runtime_copy() -> Iterator[Path]:
    """boto3 and its dependencies, copied from this environment and compiled, as the Lambda runtime has them."""
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-") as directory:
        target = Path(directory)
        site = Path(str(importlib.metadata.distribution("boto3").locate_file("")))
        for distribution in RUNTIME_DISTRIBUTIONS:
            for name in _top_level(distribution):
                source = site / name
                if source.is_dir():
                    shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
                elif source.is_file():
                    shutil.copy2(source, target / name)
        if not compileall.compile_dir(target, quiet=1, workers=0):
            raise SystemExit("compiling the runtime copy of boto3 failed")
        yield target


@contextmanager
def sources_only(handler: Handler) -> Iterator[Handler]:
    """The handler's built directories without their .pyc files (what Lambda got before they were shipped)."""
    with tempfile.TemporaryDirectory(prefix="lambda-source-") as directory:
        path = []
        for index, entry in enumerate(handler.path):
            copy = Path(directory) / str(index)
            shutil.copytree(entry, copy, ignore=shutil.ignore_patterns("__pycache__"))
            path.append(str(copy))
        yield Handler(handler.name, handler.module, tuple(path))


def environment() -> dict[str, str]:
    """What Lambda sets that the handlers read at import time (nothing here reaches AWS)."""
    keep = {name: os.environ[name] for name in ("PATH", "SYSTEMROOT") if name in os.environ}
    return {
        **keep,
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
        "POWERTOOLS_SERVICE_NAME": "merchant-kit",
        "POWERTOOLS_METRICS_NAMESPACE": "MerchantKit",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "ORDERS_TABLE": "orders",
        "TERMINALS_SECRET_ARN": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:terminals-AbCdEf",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def timed(path: Sequence[str], work: str, traced: bool = False) -> float:
    """Seconds ``work`` takes in a fresh interpreter with only ``path`` (and the standard library) to import from;
    ``traced``: in Lambda with tracing on (``LAMBDA_TASK_ROOT``, no ``POWERTOOLS_TRACE_DISABLED``)."""
    code = PROBE.format(path=list(path), work=work)
    env = environment()
    if traced:
        del env["POWERTOOLS_TRACE_DISABLED"]
        env["LAMBDA_TASK_ROOT"] = "/var/task"
    answer = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-I", "-S", "-B", "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if answer.returncode != 0:
        raise SystemExit(f"the import failed:\n{answer.stderr}")
    return float(answer.stdout.strip().splitlines()[-1])


def best(runs: int, path: Sequence[str], work: str, traced: bool = False) -> float:
    return min(timed(path, work, traced) for _ in range(runs))


def first_sampled_cost(handler: Handler, runtime: Path, repeat: int) -> float:
    """Seconds the first sampled invocation of an instance adds: Powertools' Tracer and the X-Ray SDK, made then
    (orders.tracing), once the handler is imported; never part of the import itself."""
    path = [*handler.path, str(runtime)]
    imported = f"import boto3; importlib.import_module({handler.module!r})"
    traced = "; from orders.tracing import powertools_recorder; assert powertools_recorder() is not None"
    return best(repeat, path, imported + traced, traced=True) - best(repeat, path, imported, traced=True)


def measure(handler_list: Sequence[Handler], runtime: Path, repeat: int) -> tuple[float, dict[str, float]]:
    """The baseline's best time, and each handler's, measured in turns so that load changes hit them alike."""
    baseline = float("inf")
    times = dict.fromkeys((h.name for h in handler_list), float("inf"))
    for _ in range(repeat):
        baseline = min(baseline, timed([str(runtime)], BASELINE))
        for handler in handler_list:
            work = f"importlib.import_module({handler.module!r})"
            times[handler.name] = min(times[handler.name], timed([*handler.path, str(runtime)], work))
    return baseline, times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each import; the best counts (default 7)")
    parser.add_argument("--build", type=Path, default=BUILD, help="sam build's output (default .aws-sam/build)")
    parser.add_argument("--no-sources", action="store_true", help="skip the comparison without .pyc files")
    args = parser.parse_args(argv)
    repeat = max(args.repeat, 1)
    found = handlers(Template.load(), args.build)
    with runtime_copy() as runtime:
        baseline, times = measure(found, runtime, repeat)
        print(f"bare boto3 client (compiled):   {baseline * 1e3:7.1f} ms")
        for handler in found:
            ratio = times[handler.name] / baseline
            print(f"{handler.name:<30}  {times[handler.name] * 1e3:7.1f} ms  {ratio:.2f}x")
        worst = max(times.values()) / baseline
        slowest = max(found, key=lambda handler: times[handler.name])
        tracer = first_sampled_cost(slowest, runtime, repeat)
        print(f"X-Ray at an instance's first sampled request (not at import): {tracer * 1e3:.1f} ms, "
              f"{tracer / baseline:.2f}x")  # fmt: skip
        if not args.no_sources:
            with_sources = []
            for handler in found:
                with sources_only(handler) as plain:
                    work = f"importlib.import_module({plain.module!r})"
                    with_sources.append(best(max(repeat // 2, 1), [*plain.path, str(runtime)], work))
            print(f"from sources alone (no .pyc), the worst handler: {max(with_sources) / baseline:.2f}x")
    print(f"cold_import_ratio: {worst:.2f} (aim: at most 1.3; best of {repeat} runs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
