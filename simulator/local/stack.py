"""The local stack: embedded AWS, the template's functions behind a local HTTP server, local-only extras.

    with LocalStack(LocalConfig(port=0)) as stack:
        requests.post(f"{stack.base_url}/orders", json={...})

Start-up, in order: read template.yaml (and check its references); start moto and point the process at it;
bind the HTTP server (its URL goes into the configuration); create the template's tables and the terminal
secret; build each function's environment from the template and put it in ``os.environ``; import the handlers
unchanged (layers and function directories on ``sys.path``), one instance of each (``local.instances``: more
are made when events arrive at once, each one the ``app`` module imported afresh under a unique name); start
the services; serve. ``stop()`` undoes all of it, ``os.environ`` and ``sys.path`` included.

Extension points for what comes next: ``add_route()`` for local-only routes (``POST /_local/sweep``),
``invoke()`` to run any function with any event, ``services`` (objects with ``start(stack)``/``stop()``, e.g. a
timer for scheduled functions, the sandbox bank, the demo shop) started with the stack.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, Self

import boto3

from devhttp import Dispatcher, HttpRequest, HttpResponse, LocalHttpServer, Match, Target
from shop.pages import bank_return  # the demo shop's look for the buyer's return page
from stacktools.template import (
    IMPLICIT_API,
    TEMPLATE_PATH,
    FunctionSpec,
    Resolver,
    Template,
    TemplateError,
    check_references,
)

from .alarms import create_alarm
from .alarms import install as install_alarm_actions
from .apigw import ApiContext, LambdaContext, http_response, proxy_event
from .authorizer import AuthorizerSpec, RequestAuthorizer
from .aws import (
    Environ,
    MotoServer,
    QueueSetup,
    TableSetup,
    create_bucket,
    create_event_bus,
    create_table,
    create_topic,
    point_at,
    put_parameter,
    put_secret,
)
from .clock import MovableClock
from .config import MAIL_SETTINGS_PARAMETER, LocalConfig, mail_settings_json, terminals_json
from .console import SIGN_IN_ROUTE as CONSOLE_SIGN_IN
from .console import ConsoleUsers, create_console_users
from .console import sign_in_route as console_sign_in
from .eventbridge import LocalEventBridge
from .instances import FunctionInstances, LambdaHandler
from .mail import LocalMail
from .queues import QueuePoller, create_queue, set_redrive
from .schedules import ScheduleRunner, run_schedules_of
from .streams import StreamPoller

# The APIs served under a path of the local server, as a custom domain maps an API at a base path; the others
# (Api) at its root. The key callers' API runs its Lambda authorizer as API Gateway does (``local.authorizer``).
API_BASE_PATHS = {"KeysApi": "/keys-api"}
# Authorizers the local stack lets through without checking: a SigV4 signature, and none.
LET_THROUGH = ("AWS_IAM", "NONE")
# The ready shop key the local stack creates at start (``LocalStack.test_key``).
TEST_KEY_SCOPE, TEST_KEY_LABEL = "back_office", "local test key"

# Set for every function locally, on top of the template's environment.
LOCAL_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
}


class Service(Protocol):
    """Something started with the stack and stopped with it (a timer, the sandbox bank, the demo shop)."""

    name: str

    def start(self, stack: LocalStack) -> None: ...

    def stop(self) -> None: ...


@dataclass
class LocalFunction:
    """A template function, loaded: its spec, its instances (``local.instances``), its resolved environment."""

    spec: FunctionSpec
    instances: FunctionInstances
    environment: Mapping[str, str]
    name: str  # the function name the context reports
    region: str
    account_id: str
    # Answers every event instead of the instances while set (a function that is down, in a test).
    replacement: LambdaHandler | None = None

    def invoke(self, event: Any) -> Any:
        context = LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.spec.memory_size,
            timeout_seconds=self.spec.timeout_seconds,
            region=self.region,
            account_id=self.account_id,
        )
        if self.replacement is not None:
            return self.replacement(event, context)
        return self.instances.invoke(event, context)


def load_handler(spec: FunctionSpec, deps: Callable[[], Any] | None = None, instance: int = 1) -> LambdaHandler:
    """Import the function's module from its file afresh, under a name of its own (per instance), and return its
    handler: with ``deps`` (giving an ``orders.dependencies.Dependencies``), the one its ``create_handler`` makes
    on them."""
    path = spec.module_path
    if not path.is_file():
        raise TemplateError(f"{spec.logical_id}: handler {spec.handler} needs {path}, which does not exist")
    module_name = f"_local_{spec.logical_id}_{spec.module_name.replace('.', '_')}_{instance}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise TemplateError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    factory = getattr(module, "create_handler", None)
    handler = factory(deps()) if deps is not None and callable(factory) else getattr(module, spec.handler_name, None)
    if not callable(handler):
        raise TemplateError(f"{spec.logical_id}: {path} has no callable {spec.handler_name!r}")
    return handler  # type: ignore[no-any-return]


class LocalStack:
    def __init__(
        self,
        config: LocalConfig | None = None,
        *,
        port: int | None = None,
        template: Template | Path | str | None = None,
        handlers: Mapping[str, LambdaHandler] | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """``handlers`` replaces the handler of a function (by logical id) instead of importing its module."""
        config = config or LocalConfig()
        if port is not None:
            config = replace(config, port=port)
        self.config = config
        self.template = template if isinstance(template, Template) else Template.load(template or TEMPLATE_PATH)
        self.clock = MovableClock()  # the functions' time (POST /_local/clock moves it forward)
        self.services = list(services)
        self.schedules: ScheduleRunner | None = None
        if config.schedule_interval_seconds is not None:
            self.schedules = ScheduleRunner(config.schedule_interval_seconds)
            self.services.append(self.schedules)
        self.queue_poller: QueuePoller | None = None
        if config.poll_queues:
            self.queue_poller = QueuePoller()
            self.services.append(self.queue_poller)
        self.eventbridge: LocalEventBridge | None = None
        if config.local_events:
            self.eventbridge = LocalEventBridge()
            self.services.extend([LocalMail(), self.eventbridge])
        self.stream_poller: StreamPoller | None = None
        if config.poll_streams:
            self.stream_poller = StreamPoller()
            self.services.append(self.stream_poller)
        self._handler_overrides = dict(handlers or {})
        self.dispatcher = Dispatcher(log=None if config.quiet else self._log)
        self.functions: dict[str, LocalFunction] = {}
        self.tables: dict[str, TableSetup] = {}
        self.queues: dict[str, QueueSetup] = {}
        self.buses: dict[str, tuple[str, str]] = {}  # logical id -> (name, ARN)
        self.buckets: dict[str, tuple[str, str]] = {}  # logical id -> (name, ARN)
        self.topics: dict[str, str] = {}  # logical id -> ARN
        self.secret_arn = ""
        self.generated_secrets: dict[str, str] = {}  # logical id -> ARN (the shop keys' pepper)
        self.terminals_json = ""
        self.test_key = ""  # a shop key (scope back_office) made at start: the banner prints it
        self.console_users: ConsoleUsers | None = None  # the console's Cognito pool and its test users
        self.authorizers: dict[tuple[str, str], RequestAuthorizer] = {}  # (API, authorizer name) -> it
        self.environment: dict[str, str] = {}
        self.moto = MotoServer(host=config.moto_host or config.host, port=config.moto_port)
        self.http: LocalHttpServer | None = None
        self._environ = Environ()
        self._sys_path: list[str] = []
        self._started: list[Service] = []
        self._add_builtin_routes()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        problems = check_references(self.template.data)
        if problems:
            raise TemplateError("template references that name nothing:\n  " + "\n  ".join(problems))
        try:
            point_at(self._environ, self.moto.start(), self.config.region)
            self.http = LocalHttpServer(self.config.host, self.config.port, self.dispatcher)
            self._create_tables()
            self._create_queues()
            self._create_buses()
            for logical_id in self.template.resources_of_type("AWS::SNS::Topic"):
                self.topics[logical_id] = create_topic(self.config.table_name(logical_id), self.config.region)
            for logical_id in self.template.resources_of_type("AWS::S3::Bucket"):
                name = self.config.table_name(logical_id)
                self.buckets[logical_id] = (name, create_bucket(name, self.config.region))
            self.console_users = create_console_users(self.template, self._pool_parameters(), self.config.region)
            self.terminals_json = terminals_json(
                self.base_url, self.config.payment_base_url, self.config.backoffice_base_url
            )
            self.secret_arn = put_secret(self.config.secret_name, self.terminals_json, self.config.region)
            for logical_id in self.template.resources_of_type("AWS::SecretsManager::Secret"):  # GenerateSecretString
                name = f"{self.config.secret_name}-{logical_id}"
                self.generated_secrets[logical_id] = put_secret(name, secrets.token_hex(32), self.config.region)
            put_parameter(MAIL_SETTINGS_PARAMETER, mail_settings_json(), self.config.region)
            resolver = self._resolver()
            self._create_alarms(resolver)
            self.environment = self._environment(resolver)
            self._environ.update(self.environment)
            self._load_functions()
            self.test_key = self._create_test_key()
            for service in self.services:
                service.start(self)
                self._started.append(service)
            self.http.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        while self._started:
            service = self._started.pop()
            try:
                service.stop()
            except Exception as exc:  # stop the rest anyway
                print(f"local: stopping {service.name} failed: {exc}", file=sys.stderr)
        if self.http is not None:
            self.http.stop()
            self.http = None
        self.moto.stop()
        self._environ.restore()
        for entry in self._sys_path:
            if entry in sys.path:
                sys.path.remove(entry)
        self._sys_path.clear()

    # -- what the stack exposes -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.http is None:
            raise RuntimeError("the local stack is not started")
        return self.http.base_url

    @property
    def port(self) -> int:
        if self.http is None:
            raise RuntimeError("the local stack is not started")
        return self.http.port

    @property
    def aws_endpoint_url(self) -> str:
        return self.moto.url

    def api_url(self, api: str) -> str:
        """Where an API of the template is served: ``KeysApi`` (``KeysApiUrl``) under its base path."""
        return self.base_url + API_BASE_PATHS.get(api, "")

    @property
    def keys_api_url(self) -> str:
        return self.api_url("KeysApi")

    def table_name(self, logical_id: str) -> str:
        return self.tables[logical_id].name

    def invoke(self, function: str, event: Any) -> Any:
        """Run a function (by logical id) with any event: the sweeper's timer and local routes use this."""
        return self.functions[function].invoke(event)

    def add_route(self, method: str, path: str, handler: Callable[[HttpRequest, Match[Any]], HttpResponse]) -> None:
        """A local-only route (``/_local/...`` by convention); template routes win over it."""
        self.dispatcher.local_routes.add(method, path, Target(name=f"local:{path}", handle=handler))

    def describe_routes(self) -> list[tuple[str, str, str, str]]:
        """(method, path, function, authorizer) of every template route served at the root (Api's)."""
        return [
            (r.method, r.path, r.function, r.authorizer) for r in self.template.routes() if r.api not in API_BASE_PATHS
        ]

    # -- start-up steps -------------------------------------------------------------------------------------

    def _log(self, line: str) -> None:
        print(f"local: {line}", file=sys.stderr, flush=True)

    def _partial_resolver(self) -> Resolver:
        return Resolver(
            self.template,
            parameters=dict(self.config.parameter_overrides),
            region=self.config.region,
            account_id=self.config.account_id,
            stack_name=self.config.stack_name,
        )

    def _pool_parameters(self) -> dict[str, Any]:
        """The parameters the console's user pool is made with: a test stack's (MFA optional) unless overridden."""
        parameters = {"StackEnvironment": "test", **self.config.parameter_overrides}
        return {k: v for k, v in parameters.items() if k in self.template.parameters}

    def _create_tables(self) -> None:
        resolver = self._partial_resolver()
        for logical_id in self.template.resources_of_type("AWS::DynamoDB::Table"):
            properties = resolver.resolve(self.template.properties_of(logical_id))
            name = properties.get("TableName") or self.config.table_name(logical_id)
            self.tables[logical_id] = create_table(name, properties, self.config.region)

    def _create_queues(self) -> None:
        resolver = self._partial_resolver()
        created = {}
        for logical_id in self.template.resources_of_type("AWS::SQS::Queue"):
            properties = self.template.properties_of(logical_id)
            plain = resolver.resolve({k: v for k, v in properties.items() if k != "RedrivePolicy"})
            name = plain.get("QueueName") or self.config.table_name(logical_id)
            self.queues[logical_id] = create_queue(name, plain, self.config.region)
            created[logical_id] = properties
        resolver = self._resolver()  # now every queue has its ARN for the redrive policies
        for logical_id, properties in created.items():
            set_redrive(self.queues[logical_id], resolver.resolve(properties), self.config.region)

    def _create_buses(self) -> None:
        resolver = self._partial_resolver()
        for logical_id in self.template.resources_of_type("AWS::Events::EventBus"):
            properties = resolver.resolve(self.template.properties_of(logical_id))
            name = properties.get("Name") or self.config.table_name(logical_id)
            self.buses[logical_id] = (name, create_event_bus(name, self.config.region))

    def alarm_name(self, logical_id: str) -> str:
        return f"{self.config.stack_name}-{logical_id}"

    def _create_alarms(self, resolver: Resolver) -> None:
        """The template's alarms in moto, their SNS actions run as CloudWatch runs them (``local.alarms``)."""
        install_alarm_actions()
        for logical_id in self.template.resources_of_type("AWS::CloudWatch::Alarm"):
            try:
                properties = resolver.resolve(self.template.properties_of(logical_id))
            except TemplateError as exc:
                print(f"local: alarm {logical_id}: {exc}; skipped", file=sys.stderr)
                continue
            create_alarm(self.alarm_name(logical_id), properties, self.config.region)

    def resolver(self) -> Resolver:
        """Resolves the template's values as they are in this stack (parameters, names, ARNs)."""
        return self._resolver()

    def _resolver(self) -> Resolver:
        region, account = self.config.region, self.config.account_id
        resources: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for logical_id, table in self.tables.items():
            resources[logical_id] = table.name
            attributes[f"{logical_id}.Arn"] = table.arn
            if table.stream_arn:
                attributes[f"{logical_id}.StreamArn"] = table.stream_arn
        for logical_id, queue in self.queues.items():
            resources[logical_id] = queue.url
            attributes[f"{logical_id}.Arn"] = queue.arn
            attributes[f"{logical_id}.QueueName"] = queue.name
        for logical_id, topic in self.topics.items():
            resources[logical_id] = topic
            attributes[f"{logical_id}.TopicArn"] = topic
        for logical_id, (name, arn) in self.buckets.items():
            resources[logical_id] = name
            attributes[f"{logical_id}.Arn"] = arn
        for logical_id, (name, arn) in self.buses.items():
            resources[logical_id] = name
            attributes[f"{logical_id}.Arn"] = arn
            attributes[f"{logical_id}.Name"] = name
        for logical_id in self.template.resources_of_type("AWS::CloudWatch::Alarm"):
            resources[logical_id] = self.alarm_name(logical_id)
            attributes[f"{logical_id}.Arn"] = (
                f"arn:aws:cloudwatch:{region}:{account}:alarm:{self.alarm_name(logical_id)}"
            )
        for logical_id in self.template.resources_of_type("AWS::Serverless::LayerVersion"):
            resources[logical_id] = f"arn:aws:lambda:{region}:{account}:layer:{logical_id}:1"
        for logical_id in self.template.resources_of_type("AWS::Serverless::Function"):
            name = self._function_name(logical_id)
            resources[logical_id] = name
            attributes[f"{logical_id}.Arn"] = f"arn:aws:lambda:{region}:{account}:function:{name}"
        resources.update(self.generated_secrets)
        if self.console_users is not None:
            resources.update(
                ConsoleUserPool=self.console_users.pool_id,
                ConsoleUserPoolClient=self.console_users.client_id,
                **self.console_users.groups,
            )
            attributes["ConsoleUserPool.Arn"] = self.console_users.arn
        for logical_id in [*self.template.resources_of_type("AWS::Serverless::Api"), IMPLICIT_API]:
            resources[logical_id] = "local"
        parameters = {
            "StackEnvironment": "test",  # the local terminals are the bank's test ones (a config may say otherwise)
            "MailSettingsParameter": MAIL_SETTINGS_PARAMETER,
            "CallerAuthentication": "both",  # SigV4 callers (let through locally) and shop keys
            **self.config.parameter_overrides,
            "TerminalsSecretArn": self.secret_arn,
            "CheckoutBaseUrl": self.base_url,
        }
        return Resolver(
            self.template,
            parameters={k: v for k, v in parameters.items() if k in self.template.parameters},
            resources=resources,
            attributes=attributes,
            region=region,
            account_id=account,
            stack_name=self.config.stack_name,
        )

    def _function_name(self, logical_id: str) -> str:
        return f"{self.config.stack_name}-{logical_id}"

    def _environment(self, resolver: Resolver) -> dict[str, str]:
        """Every function's environment, merged: one process hosts them all, so they must agree."""
        merged: dict[str, str] = {}
        owners: dict[str, str] = {}
        for spec in self.template.functions():
            for name, value in resolver.resolve(dict(spec.environment)).items():
                text = _env_value(value)
                if name in merged and merged[name] != text:
                    raise TemplateError(
                        f"environment variable {name} is {merged[name]!r} for {owners[name]} and {text!r} for "
                        f"{spec.logical_id}: the local stack runs every function in one process"
                    )
                merged[name], owners[name] = text, spec.logical_id
        # The template's AWS_ENDPOINT_URL is empty (it exists for `sam local`): here every function uses moto.
        return {**merged, **LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": self.moto.url}

    def _layer_dirs(self, spec: FunctionSpec) -> list[Path]:
        """The source directories of the template's layers the function uses (a Python layer's import root)."""
        dirs = []
        for layer in spec.properties.get("Layers") or []:
            name = layer.get("Ref") if isinstance(layer, dict) else None
            resource = self.template.resources.get(name) if isinstance(name, str) else None
            if resource is None or resource.get("Type") != "AWS::Serverless::LayerVersion":
                continue  # a layer from elsewhere: nothing local to import
            content = (resource.get("Properties") or {}).get("ContentUri")
            if isinstance(content, str):
                dirs.append((self.template.root / content).resolve())
        return dirs

    def _add_to_path(self, directory: Path) -> None:
        entry = str(directory)
        if entry not in sys.path:
            sys.path.insert(0, entry)
            self._sys_path.append(entry)

    def _reconciliation_report(self, run: dict[str, Any], seconds: float = 120) -> dict[str, Any]:
        """A reconciliation run's report, with its key: at once for a run with nothing to check, else once the queue
        poller has had its parts checked and the last one wrote it (the run as planned when no poller runs)."""
        if "checked" in run or self.queue_poller is None or "ReconciliationBucket" not in self.buckets:
            return run
        s3 = boto3.client("s3", region_name=self.config.region)
        report = _report_of(s3, self.buckets["ReconciliationBucket"][0], run["report_key"], seconds)
        return run if report is None else {**report, "report_key": run["report_key"]}

    def _dependencies(self) -> Any:
        """The functions' dependencies, built from their environment as Lambda's would be, with the bank
        transport a service gives (the sandbox bank over TLS trusts its own certificate)."""
        from orders.bank import urllib_transport
        from orders.dependencies import Dependencies

        given = (getattr(service, "bank_transport", None) for service in self.services)
        transport = next((t for t in given if t is not None), urllib_transport)
        return replace(Dependencies.from_environment(self.environment, bank_transport=transport), clock=self.clock)

    def _load_functions(self) -> None:
        for spec in self.template.functions():
            override = self._handler_overrides.get(spec.logical_id)
            if override is None:
                for directory in [*self._layer_dirs(spec), spec.code_uri]:
                    self._add_to_path(directory)
            function = LocalFunction(
                spec=spec,
                instances=FunctionInstances(self._instance_maker(spec, override), self.config.instances_per_function),
                environment=self.environment,
                name=self._function_name(spec.logical_id),
                region=self.config.region,
                account_id=self.config.account_id,
            )
            function.instances.warm()  # a handler that cannot be imported stops the start
            self.functions[spec.logical_id] = function
            for route in spec.routes:
                base_path = API_BASE_PATHS.get(route.api, "")
                handle = self._proxy(function, route.api, route.authorizer, base_path)
                self.dispatcher.template_routes.add(
                    route.method, base_path + route.path, Target(name=spec.logical_id, handle=handle)
                )

    def _create_test_key(self) -> str:
        """A shop key ready to use (scope back_office), made as ``python -m orders.keys create`` makes one; none
        for a template without the shop keys (their table and pepper)."""
        if not {"ORDERS_TABLE", "SHOP_KEYS_PEPPER_ARN"} <= set(self.environment):
            return ""
        from orders.keys import from_environment

        keys = from_environment(self.environment)
        return keys.create(TEST_KEY_SCOPE, TEST_KEY_LABEL, datetime.now(UTC)).key

    def _instance_maker(self, spec: FunctionSpec, override: LambdaHandler | None) -> Callable[[int], LambdaHandler]:
        """What makes an instance of the function: its module imported afresh, its handler built on dependencies
        of its own (as a cold start builds them), or the handler given in its place."""
        if override is not None:
            return lambda number: override
        return lambda number: load_handler(spec, self._dependencies, number)

    def _api_context(self, api: str) -> ApiContext:
        properties = self.template.api_properties(api)
        resolver = self._resolver()
        return ApiContext(
            stage=str(resolver.resolve(properties.get("StageName", "Prod"))),
            binary_media_types=tuple(str(t) for t in resolver.resolve(properties.get("BinaryMediaTypes") or [])),
            api_id="local" if api not in API_BASE_PATHS else f"local-{api}",
            account_id=self.config.account_id,
            domain_name=self.base_url.removeprefix("http://"),
        )

    def _authorizer(self, api: str, name: str) -> RequestAuthorizer:
        """The API's Lambda authorizer ``name``, made at its first request (its function loaded by then)."""
        if (api, name) not in self.authorizers:
            spec = AuthorizerSpec.of(self.template.api_properties(api), name)
            function = self.functions[spec.function]
            self.authorizers[(api, name)] = RequestAuthorizer(
                spec, function.invoke, self._api_context(api), self.config.region
            )
        return self.authorizers[(api, name)]

    def _proxy(
        self, function: LocalFunction, api: str, authorizer: str = "NONE", base_path: str = ""
    ) -> Callable[[HttpRequest, Match[Any]], HttpResponse]:
        """A route's handler: the request (its ``base_path`` taken off, as a custom domain's mapping takes it) past
        the route's Lambda authorizer, if it has one, then to the function as a proxy event."""
        context = self._api_context(api)

        def handle(received: HttpRequest, received_match: Match[Any]) -> HttpResponse:
            request = replace(received, target=received.target.removeprefix(base_path))
            match = replace(received_match, resource=received_match.resource.removeprefix(base_path))
            authorized: dict[str, Any] | None = None
            if authorizer not in LET_THROUGH:
                answer = self._authorizer(api, authorizer).authorize(request, match)
                if isinstance(answer, HttpResponse):
                    return answer
                authorized = answer
            event = proxy_event(request, match, context)
            event["requestContext"]["path"] = received.path
            if authorized is not None:
                event["requestContext"]["authorizer"] = authorized
            response = http_response(function.invoke(event))
            response.headers.append(("x-amzn-RequestId", event["requestContext"]["requestId"]))
            return response

        return handle

    def functions_clock(self) -> Any:
        """The clock the functions' dependencies are built with."""
        return self._dependencies().clock

    def _move_services_clock(self, at: datetime) -> None:
        for service in self.services:
            move = getattr(service, "move_clock_to", None)
            if callable(move):
                move(at)

    def _move_clock(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        """Move the functions' and the bank's time forward to ``{"now": "<ISO 8601>"}`` (never back)."""
        at, problem = _requested_time(request)
        if problem is not None:
            return problem
        if at is None:
            return HttpResponse.json(400, {"error": {"message": "now: give the time to move to", "field": "now"}})
        self.clock.move_to(at)
        self._move_services_clock(at)
        return HttpResponse.json(200, {"now": self.clock().isoformat()})

    def _add_builtin_routes(self) -> None:
        def health(request: HttpRequest, match: Match[Any]) -> HttpResponse:
            return HttpResponse.json(
                200,
                {
                    "status": "ok",
                    "aws_endpoint_url": self.moto.url,
                    "tables": {k: v.name for k, v in self.tables.items()},
                    "terminals_secret_arn": self.secret_arn,
                    "functions": sorted(self.functions),
                    "routes": [
                        {"method": m, "path": p, "function": f, "auth": a} for m, p, f, a in self.describe_routes()
                    ],
                },
            )

        def buyer_return(request: HttpRequest, match: Match[Any]) -> HttpResponse:
            shop = next((service for service in self.services if service.name == "shop"), None)
            page = bank_return(match.path_parameters.get("outcome", ""), str(getattr(shop, "base_url", "")))
            return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())

        def sweep(request: HttpRequest, match: Match[Any]) -> HttpResponse:
            """Run the scheduled functions (the deferred sweeper) once, at ``{"now": "<ISO 8601>"}`` or now."""
            if self.schedules is None:
                return HttpResponse.json(409, {"error": {"message": "scheduled functions are off in this stack"}})
            at, problem = _requested_time(request)
            if problem is not None:
                return problem
            if at is not None:
                # The bank lives in the same time: a sandbox moves its clock forward, so its own end-of-period
                # actions happen before the sweeper looks.
                self._move_services_clock(at)
            return HttpResponse.json(200, self.schedules.run_now(at))

        def reconcile(request: HttpRequest, match: Match[Any]) -> HttpResponse:
            """Run the daily reconciliation with the bank at ``{"now": "<ISO 8601>"}`` or now (its report)."""
            at, problem = _requested_time(request)
            if problem is not None:
                return problem
            runs = run_schedules_of(self, "ReconciliationFunction", at)
            return HttpResponse.json(200, {name: self._reconciliation_report(run) for name, run in runs.items()})

        self.add_route("GET", "/_local/health", health)
        self.add_route("POST", "/_local/clock", self._move_clock)
        self.add_route("GET", CONSOLE_SIGN_IN, console_sign_in(lambda: self.base_url))
        self.add_route("POST", "/_local/reconcile", reconcile)
        self.add_route("POST", "/_local/sweep", sweep)
        self.add_route("GET", "/_local/return/{outcome}", buyer_return)


def _report_of(s3: Any, bucket: str, key: str, seconds: float) -> dict[str, Any] | None:
    """The report at ``key`` once it is there (within ``seconds``), or ``None``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        except s3.exceptions.NoSuchKey:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


def _requested_time(request: HttpRequest) -> tuple[datetime | None, HttpResponse | None]:
    """``{"now": "<ISO 8601 with offset>"}`` of a local route's body: the time, or the 400 answer naming ``now``."""
    try:
        body = json.loads(request.body or b"{}")
        at = datetime.fromisoformat(body["now"]) if isinstance(body, dict) and body.get("now") else None
    except (ValueError, TypeError, RecursionError) as exc:
        message = f'now: give an ISO 8601 time like "2026-12-24T09:00:00+01:00" ({exc})'
        return None, HttpResponse.json(400, {"error": {"message": message, "field": "now"}})
    if at is not None and at.tzinfo is None:
        return None, HttpResponse.json(400, {"error": {"message": "now: give a time zone offset", "field": "now"}})
    return at, None


def _env_value(value: Any) -> str:
    """Lambda environment values are strings; CloudFormation turns numbers and booleans into text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
