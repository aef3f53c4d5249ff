"""template.yaml as data: a CloudFormation-aware YAML loader, the SAM model the local stack needs, a resolver.

The template is the single source of truth for routes, function settings and tables; nothing here repeats
them. ``Template.load()`` reads the file; ``functions()`` gives each ``AWS::Serverless::Function`` with its
Globals merged in (SAM's rules: maps merged, lists concatenated, scalars overridden) and its events;
``Resolver`` turns intrinsic functions (``!Ref``, ``!GetAtt``, ``!Sub``, ``!If``, ``!Join``, ...) into local
values; ``check_references()`` finds a ``!Ref``/``!GetAtt``/``${}`` that names nothing (cfn-lint does not look
inside SAM resources).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

# SAM's implicit API, generated when an Api event names no RestApiId.
IMPLICIT_API = "ServerlessRestApi"


class TemplateError(Exception):
    """The template cannot be read, or says something the local stack cannot follow."""


# ---------------------------------------------------------------------------------------------------------------
# Loading: CloudFormation short tags (!Ref, !GetAtt, !Sub, ...) become their long forms ({"Ref": ...}, ...).


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short tags as the long-form intrinsic functions."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unexpected YAML node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise TemplateError("the template is not a YAML mapping")
    return cast(dict[str, Any], data)


# ---------------------------------------------------------------------------------------------------------------
# The model: functions, their API routes and schedules.


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps are merged (the resource wins), lists are concatenated, scalars overridden."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def ref_name(value: Any) -> str | None:
    """The name in ``{"Ref": name}``, else None."""
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


@dataclass(frozen=True)
class ApiRoute:
    """One ``Type: Api`` event: a method on a path of a REST API, served by a function."""

    function: str  # logical id of the function
    event: str  # the event's name in the template
    method: str  # upper case; ANY matches every method
    path: str  # the API resource path, with {param} / {param+} placeholders
    api: str  # logical id of the API (ServerlessRestApi when implicit)
    authorizer: str  # effective authorizer: AWS_IAM, NONE, or an authorizer's name


@dataclass(frozen=True)
class ScheduleEvent:
    """One ``Type: Schedule`` / ``ScheduleV2`` event (moto does not fire schedules: the local stack will)."""

    function: str
    event: str
    expression: str  # rate(...) / cron(...)
    enabled: bool
    input: str | None


@dataclass(frozen=True)
class QueueEvent:
    """One ``Type: SQS`` event: the queue (a logical id of the template) whose messages the function receives."""

    function: str
    event: str
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int
    partial_failures: bool  # FunctionResponseTypes: [ReportBatchItemFailures]
    enabled: bool


@dataclass(frozen=True)
class StreamEvent:
    """One ``Type: DynamoDB`` event: the table (a logical id of the template) whose stream feeds the function."""

    function: str
    event: str
    table: str  # logical id of the AWS::DynamoDB::Table
    batch_size: int
    partial_failures: bool  # FunctionResponseTypes: [ReportBatchItemFailures]
    enabled: bool


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with its Globals merged in (values still unresolved)."""

    logical_id: str
    properties: Mapping[str, Any]
    code_uri: Path
    handler: str
    routes: tuple[ApiRoute, ...] = ()
    schedules: tuple[ScheduleEvent, ...] = ()
    queues: tuple[QueueEvent, ...] = ()
    streams: tuple[StreamEvent, ...] = ()

    @property
    def module_name(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def module_path(self) -> Path:
        """The file of the handler's module inside CodeUri (``app.lambda_handler`` → ``<CodeUri>/app.py``)."""
        return self.code_uri.joinpath(*self.module_name.split(".")).with_suffix(".py")

    @property
    def timeout_seconds(self) -> int:
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_size(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def environment(self) -> Mapping[str, Any]:
        """Environment variables as written (maybe intrinsic functions): resolve them with a ``Resolver``."""
        env = self.properties.get("Environment") or {}
        variables = env.get("Variables") or {}
        return cast(Mapping[str, Any], variables)


@dataclass
class Template:
    data: dict[str, Any]
    path: Path = TEMPLATE_PATH
    root: Path = field(default=ROOT)

    @classmethod
    def load(cls, path: Path | str = TEMPLATE_PATH) -> Template:
        path = Path(path).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read {path}: {exc}") from None
        return cls(data=load_yaml(text), path=path, root=path.parent)

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.data.get("Parameters") or {})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.data.get("Resources") or {})

    @property
    def conditions(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data.get("Conditions") or {})

    def globals_for(self, kind: str) -> dict[str, Any]:
        """``Globals.Function`` / ``Globals.Api`` / ..."""
        return cast(dict[str, Any], (self.data.get("Globals") or {}).get(kind) or {})

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == resource_type}

    def properties_of(self, logical_id: str) -> dict[str, Any]:
        try:
            resource = self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in {self.path.name}") from None
        return cast(dict[str, Any], resource.get("Properties") or {})

    def api_properties(self, api: str) -> dict[str, Any]:
        """An API's properties with Globals.Api merged in (the implicit API has only the Globals)."""
        own = {} if api == IMPLICIT_API and api not in self.resources else self.properties_of(api)
        return cast(dict[str, Any], merge_globals(self.globals_for("Api"), own))

    def functions(self) -> list[FunctionSpec]:
        specs = []
        for logical_id, resource in self.resources_of_type("AWS::Serverless::Function").items():
            properties = merge_globals(self.globals_for("Function"), resource.get("Properties") or {})
            code_uri = properties.get("CodeUri")
            handler = properties.get("Handler")
            if not isinstance(code_uri, str) or not isinstance(handler, str):
                raise TemplateError(f"{logical_id}: the local stack needs a local CodeUri and a Handler")
            events = properties.get("Events") or {}
            routes, schedules = self._events(logical_id, events)
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    properties=properties,
                    code_uri=(self.root / code_uri).resolve(),
                    handler=handler,
                    routes=tuple(routes),
                    schedules=tuple(schedules),
                    queues=tuple(self._queue_events(logical_id, events)),
                    streams=tuple(self._stream_events(logical_id, events)),
                )
            )
        return specs

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions():
            if spec.logical_id == logical_id:
                return spec
        raise TemplateError(f"no function {logical_id!r} in {self.path.name}")

    def routes(self) -> list[ApiRoute]:
        return [route for spec in self.functions() for route in spec.routes]

    def _events(self, function: str, events: Mapping[str, Any]) -> tuple[list[ApiRoute], list[ScheduleEvent]]:
        routes: list[ApiRoute] = []
        schedules: list[ScheduleEvent] = []
        for name, event in events.items():
            kind = event.get("Type")
            props = event.get("Properties") or {}
            if kind == "Api":
                api = IMPLICIT_API
                if "RestApiId" in props:
                    api_ref = ref_name(props["RestApiId"])
                    if api_ref is None:
                        raise TemplateError(f"{function}.{name}: RestApiId must be a !Ref to an API of the template")
                    api = api_ref
                auth = props.get("Auth") or {}
                default = (self.api_properties(api).get("Auth") or {}).get("DefaultAuthorizer", "NONE")
                routes.append(
                    ApiRoute(
                        function=function,
                        event=name,
                        method=str(props["Method"]).upper(),
                        path=str(props["Path"]),
                        api=api,
                        authorizer=str(auth.get("Authorizer", default)),
                    )
                )
            elif kind in ("Schedule", "ScheduleV2"):
                state = props.get("State")
                enabled = props.get("Enabled", state != "DISABLED" if state is not None else True)
                schedules.append(
                    ScheduleEvent(
                        function=function,
                        event=name,
                        expression=str(props.get("Schedule") or props.get("ScheduleExpression")),
                        enabled=bool(enabled),
                        input=props.get("Input"),
                    )
                )
        return routes, schedules

    def _queue_events(self, function: str, events: Mapping[str, Any]) -> list[QueueEvent]:
        queues = []
        for name, event in events.items():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties") or {}
            queue = props.get("Queue")
            target = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
            if isinstance(target, str):
                target = target.split(".", 1)
            if not (isinstance(target, list) and len(target) == 2 and target[1] == "Arn"):
                raise TemplateError(f"{function}.{name}: Queue must be !GetAtt <a queue of the template>.Arn")
            queues.append(
                QueueEvent(
                    function=function,
                    event=name,
                    queue=str(target[0]),
                    batch_size=int(props.get("BatchSize", 10)),
                    partial_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    enabled=bool(props.get("Enabled", True)),
                )
            )
        return queues

    def _stream_events(self, function: str, events: Mapping[str, Any]) -> list[StreamEvent]:
        streams = []
        for name, event in events.items():
            if event.get("Type") != "DynamoDB":
                continue
            props = event.get("Properties") or {}
            stream = props.get("Stream")
            target = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
            if isinstance(target, str):
                target = target.split(".", 1)
            if not (isinstance(target, list) and len(target) == 2 and target[1] == "StreamArn"):
                raise TemplateError(f"{function}.{name}: Stream must be !GetAtt <a table of the template>.StreamArn")
            streams.append(
                StreamEvent(
                    function=function,
                    event=name,
                    table=str(target[0]),
                    batch_size=int(props.get("BatchSize", 100)),
                    partial_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    enabled=bool(props.get("Enabled", True)),
                )
            )
        return streams

    def parameter_default(self, name: str) -> Any:
        try:
            parameter = self.parameters[name]
        except KeyError:
            raise TemplateError(f"no parameter {name!r} in {self.path.name}") from None
        if "Default" not in parameter:
            raise TemplateError(f"parameter {name!r} has no default: give the local stack a value for it")
        return parameter["Default"]


# ---------------------------------------------------------------------------------------------------------------
# Resolving intrinsic functions to local values.

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    """AWS::NoValue: the property is removed."""


NO_VALUE = _NoValue()


@dataclass
class Resolver:
    """Turns intrinsic functions into local values.

    ``parameters`` override the template's defaults; ``resources`` give what ``!Ref <Resource>`` means locally
    (a table name, a secret ARN...); ``attributes`` give ``!GetAtt Resource.Attribute`` (key ``"Resource.Attribute"``).
    A reference with no local value raises ``TemplateError`` naming it: nothing is guessed.
    """

    template: Template
    parameters: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    region: str = "eu-west-3"
    account_id: str = "123456789012"
    stack_name: str = "merchant-kit-local"

    def pseudo(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        return values[name]

    def ref(self, name: str) -> Any:
        if name in PSEUDO_PARAMETERS:
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]
        if name in self.template.parameters:
            return self.template.parameter_default(name)
        raise TemplateError(f"!Ref {name}: no local value (known: parameters, {sorted(self.resources)})")

    def get_att(self, resource: str, attribute: str) -> Any:
        key = f"{resource}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        raise TemplateError(f"!GetAtt {key}: no local value (known: {sorted(self.attributes)})")

    def condition(self, name: str) -> bool:
        try:
            expression = self.template.conditions[name]
        except KeyError:
            raise TemplateError(f"no condition {name!r}") from None
        return bool(self.resolve(expression))

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name not in PSEUDO_PARAMETERS:
                resource, _, attribute = name.partition(".")
                return str(self.get_att(resource, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    # The intrinsic functions, by long name.
    def _fn_ref(self, arg: Any) -> Any:
        return self.ref(str(arg))

    def _fn_get_att(self, arg: Any) -> Any:
        resource, attribute = (arg.split(".", 1) if isinstance(arg, str) else arg)[:2]
        return self.get_att(str(resource), str(self.resolve(attribute)))

    def _fn_sub(self, arg: Any) -> Any:
        if isinstance(arg, list):
            return self.sub(str(arg[0]), arg[1] if len(arg) > 1 else {})
        return self.sub(str(arg), {})

    def _fn_join(self, arg: Any) -> Any:
        separator, items = arg
        return str(separator).join(str(item) for item in self.resolve(items))

    def _fn_select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_split(self, arg: Any) -> Any:
        separator, text = arg
        return str(self.resolve(text)).split(str(separator))

    def _fn_if(self, arg: Any) -> Any:
        name, if_true, if_false = arg
        return self.resolve(if_true if self.condition(str(name)) else if_false)

    def _fn_equals(self, arg: Any) -> Any:
        left, right = (self.resolve(v) for v in arg)
        return str(left) == str(right)

    def _fn_not(self, arg: Any) -> Any:
        return not self.resolve(arg[0])

    def _fn_and(self, arg: Any) -> Any:
        return all(self.resolve(v) for v in arg)

    def _fn_or(self, arg: Any) -> Any:
        return any(self.resolve(v) for v in arg)

    def _fn_condition(self, arg: Any) -> Any:
        return self.condition(str(arg))

    def _fn_find_in_map(self, arg: Any) -> Any:
        map_name, first, second = (self.resolve(v) for v in arg[:3])
        return self.resolve(self.template.data["Mappings"][map_name][first][second])

    _FUNCTIONS: ClassVar[Mapping[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": _fn_ref,
        "Fn::GetAtt": _fn_get_att,
        "Fn::Sub": _fn_sub,
        "Fn::Join": _fn_join,
        "Fn::Select": _fn_select,
        "Fn::Split": _fn_split,
        "Fn::If": _fn_if,
        "Fn::Equals": _fn_equals,
        "Fn::Not": _fn_not,
        "Fn::And": _fn_and,
        "Fn::Or": _fn_or,
        "Condition": _fn_condition,
        "Fn::FindInMap": _fn_find_in_map,
    }


# ---------------------------------------------------------------------------------------------------------------
# Reference checking: every !Ref / !GetAtt / ${...} names something that exists.

# Attributes a !GetAtt may name, for the resource types whose attributes we know; other types accept any.
KNOWN_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "AWS::Serverless::Function": frozenset({"Arn"}),
    "AWS::Serverless::Api": frozenset({"RootResourceId"}),
    "AWS::Serverless::LayerVersion": frozenset(),
    "AWS::DynamoDB::Table": frozenset({"Arn", "StreamArn"}),
    "AWS::IAM::Role": frozenset({"Arn", "RoleId"}),
    "AWS::Logs::LogGroup": frozenset({"Arn"}),
    "AWS::SQS::Queue": frozenset({"Arn", "QueueName", "QueueUrl"}),
    "AWS::SNS::Topic": frozenset({"TopicArn", "TopicName"}),
    "AWS::Events::Rule": frozenset({"Arn"}),
    "AWS::Events::EventBus": frozenset({"Arn", "Name", "Policy"}),
    "AWS::SecretsManager::Secret": frozenset({"Id"}),
}


def _generated_resources(data: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """What SAM generates that a template may name: resources by logical id (with their types) and dotted Refs."""
    resources: dict[str, str] = {}
    dotted_refs: set[str] = set()
    implicit_api = False
    for name, resource in (data.get("Resources") or {}).items():
        kind = resource.get("Type")
        props = resource.get("Properties") or {}
        if kind == "AWS::Serverless::Function":
            if "Role" not in props:
                resources[f"{name}Role"] = "AWS::IAM::Role"
            if "AutoPublishAlias" in props:
                dotted_refs |= {f"{name}.Alias", f"{name}.Version"}
            for event in (props.get("Events") or {}).values():
                if event.get("Type") == "Api" and "RestApiId" not in (event.get("Properties") or {}):
                    implicit_api = True
        elif kind == "AWS::Serverless::Api":
            dotted_refs |= {f"{name}.Stage", f"{name}.Deployment"}
    if implicit_api:
        resources[IMPLICIT_API] = "AWS::Serverless::Api"
        dotted_refs |= {f"{IMPLICIT_API}.Stage", f"{IMPLICIT_API}.Deployment"}
    return resources, dotted_refs


def _walk(value: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    """Every (location, key, argument) of a single-key intrinsic-function mapping, depth first."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                yield where, key, arg
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


@dataclass
class _References:
    """What a template declares, and the problems found so far with the names it refers to."""

    parameters: set[str]
    declared: set[str]  # the template's own resources
    resources: dict[str, str]  # logical id -> type, the ones SAM generates included
    dotted_refs: set[str]  # names with a dot that a Ref may use (SAM's generated ones)
    conditions: set[str]
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> _References:
        declared = {name: str(res.get("Type")) for name, res in (data.get("Resources") or {}).items()}
        generated, dotted_refs = _generated_resources(data)
        return cls(
            parameters=set(data.get("Parameters") or {}),
            declared=set(declared),
            resources={**generated, **declared},
            dotted_refs=set(dotted_refs),
            conditions=set(data.get("Conditions") or {}),
        )

    def ref(self, where: str, name: Any) -> None:
        if not isinstance(name, str):
            self.problems.append(f"{where}: Ref of a non-name {name!r}")
        elif not (
            name in self.parameters or name in self.resources or name in PSEUDO_PARAMETERS or name in self.dotted_refs
        ):
            self.problems.append(f"{where}: Ref {name!r} names no parameter, resource or pseudo parameter")

    def attribute(self, where: str, resource: Any, attribute: Any) -> None:
        if resource not in self.resources:
            self.problems.append(f"{where}: GetAtt {resource!r} names no resource")
            return
        kind = self.resources[resource]
        known = KNOWN_ATTRIBUTES.get(kind)
        if known is not None and isinstance(attribute, str) and attribute not in known:
            self.problems.append(f"{where}: GetAtt {resource}.{attribute}: a {kind} has no such attribute")

    def get_att(self, where: str, arg: Any) -> None:
        parts = arg.split(".", 1) if isinstance(arg, str) else arg
        if not isinstance(parts, list) or len(parts) != 2:
            self.problems.append(f"{where}: GetAtt needs Resource.Attribute, got {arg!r}")
        else:
            self.attribute(where, parts[0], parts[1])

    def sub(self, where: str, arg: Any) -> None:
        text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
        for name in _SUB_VARIABLE.findall(str(text)):
            if name.startswith("!") or name in variables:
                continue  # ${!Literal}, or a variable the Sub itself defines
            if "." in name and name not in self.dotted_refs and name not in PSEUDO_PARAMETERS:
                resource, _, attribute = name.partition(".")
                self.attribute(f"{where}.${{{name}}}", resource, attribute)
            else:
                self.ref(f"{where}.${{{name}}}", name)

    def if_(self, where: str, arg: Any) -> None:
        if not isinstance(arg, list) or not arg or arg[0] not in self.conditions:
            self.problems.append(f"{where}: If names no condition: {arg!r}")

    def condition(self, where: str, arg: Any) -> None:
        if arg not in self.conditions:
            self.problems.append(f"{where}: Condition {arg!r} is not declared")

    def resource(self, name: str, resource: Mapping[str, Any]) -> None:
        """A resource's own attributes that name others: ``DependsOn`` and ``Condition``."""
        depends = resource.get("DependsOn") or []
        for dependency in [depends] if isinstance(depends, str) else depends:
            if dependency not in self.declared:
                self.problems.append(f"$.Resources.{name}.DependsOn: {dependency!r} is not a resource")
        if "Condition" in resource and resource["Condition"] not in self.conditions:
            self.problems.append(f"$.Resources.{name}.Condition: {resource['Condition']!r} is not declared")


# The intrinsic functions (and the Condition key) whose argument names something, and how each is checked.
_REFERENCE_CHECKS: dict[str, Callable[[_References, str, Any], None]] = {
    "Ref": _References.ref,
    "Fn::GetAtt": _References.get_att,
    "Fn::Sub": _References.sub,
    "Fn::If": _References.if_,
    "Condition": _References.condition,
}


def check_references(data: Mapping[str, Any]) -> list[str]:
    """Problems with the names a template refers to; an empty list when every reference exists."""
    references = _References.of(data)
    for where, key, arg in _walk(data, "$"):
        check = _REFERENCE_CHECKS.get(key)
        if check is not None:
            check(references, where, arg)
    for name, resource in (data.get("Resources") or {}).items():
        references.resource(name, resource)
    return references.problems
