"""What a service of the local stack sees of it: the services depend on this ``Host``, never on ``LocalStack``
itself, so the stack can import them without their importing it back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from devhttp import Match
from devhttp.messages import HttpRequest, HttpResponse
from stacktools.template import Resolver, Template

from .aws import QueueSetup, TableSetup
from .config import LocalConfig


class RouteHandler(Protocol):
    def __call__(self, request: HttpRequest, match: Match[Any], /) -> HttpResponse: ...


class Host(Protocol):
    """The local stack, as its services use it: settings, template, resources, functions, local routes."""

    @property
    def config(self) -> LocalConfig: ...

    @property
    def template(self) -> Template: ...

    @property
    def base_url(self) -> str: ...

    @property
    def terminals_json(self) -> str: ...

    @property
    def tables(self) -> Mapping[str, TableSetup]: ...

    @property
    def queues(self) -> Mapping[str, QueueSetup]: ...

    @property
    def buses(self) -> Mapping[str, tuple[str, str]]: ...  # logical id -> (name, ARN)

    @property
    def services(self) -> Sequence[object]: ...

    def table_name(self, logical_id: str) -> str: ...

    def invoke(self, function: str, event: Any) -> Any: ...

    def resolver(self) -> Resolver: ...

    def add_route(self, method: str, path: str, handler: RouteHandler) -> None: ...
