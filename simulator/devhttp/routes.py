"""Route matching as API Gateway (REST) does it: resource paths with ``{param}`` and greedy ``{param+}``.

A request path is matched against every resource path; the most specific match wins (at each segment a
literal beats ``{param}``, which beats ``{param+}``). If that resource has no method for the request (nor
``ANY``), the answer is "method not allowed" — API Gateway does not fall back to a less specific resource.
Path parameters are percent-decoded; the path itself is kept as received.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")

LITERAL, PARAM, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class _Segment:
    kind: int
    text: str  # the literal, or the parameter's name


def split_path(path: str) -> list[str]:
    """``/a/b/`` → ``["a", "b"]``; ``/`` → ``[]``."""
    return [part for part in path.split("/") if part]


def parse_resource_path(path: str) -> tuple[_Segment, ...]:
    if not path.startswith("/"):
        raise ValueError(f"a resource path starts with '/': {path!r}")
    segments = []
    parts = split_path(path)
    for index, part in enumerate(parts):
        match = _PARAM.match(part)
        if match is None:
            if "{" in part or "}" in part:
                raise ValueError(f"{path!r}: a path parameter takes a whole segment: {part!r}")
            segments.append(_Segment(LITERAL, part))
        elif match.group(2):
            if index != len(parts) - 1:
                raise ValueError(f"{path!r}: a greedy parameter {{{match.group(1)}+}} must be the last segment")
            segments.append(_Segment(GREEDY, match.group(1)))
        else:
            segments.append(_Segment(PARAM, match.group(1)))
    return tuple(segments)


def _match(segments: tuple[_Segment, ...], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.kind == GREEDY:
            rest = parts[index:]
            if not rest:
                return None
            params[segment.text] = unquote("/".join(rest))
            return params
        if index >= len(parts):
            return None
        if segment.kind == LITERAL:
            if parts[index] != segment.text:
                return None
        else:
            params[segment.text] = unquote(parts[index])
    return params if len(parts) == len(segments) else None


@dataclass(frozen=True)
class Match[T]:
    target: T
    resource: str  # the resource path as declared, e.g. /checkout/{token}
    method: str  # the method as declared (maybe ANY)
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    resource: str
    allowed: tuple[str, ...]


class Router[T]:
    """Maps (method, path) to a target, e.g. the function that serves the route."""

    def __init__(self, routes: Iterable[tuple[str, str, T]] = ()) -> None:
        self._resources: dict[str, tuple[tuple[_Segment, ...], dict[str, T]]] = {}
        for method, path, target in routes:
            self.add(method, path, target)

    def add(self, method: str, path: str, target: T) -> None:
        method = method.upper()
        segments = parse_resource_path(path)
        key = "/" + "/".join(
            ("{" + s.text + ("+}" if s.kind == GREEDY else "}")) if s.kind else s.text for s in segments
        )
        _, methods = self._resources.setdefault(key, (segments, {}))
        if method in methods:
            raise ValueError(f"route declared twice: {method} {path}")
        methods[method] = target

    @property
    def routes(self) -> list[tuple[str, str, T]]:
        return [
            (method, path, target)
            for path, (_, methods) in self._resources.items()
            for method, target in methods.items()
        ]

    def match(self, method: str, path: str) -> Match[T] | MethodNotAllowed | None:
        """The route for a request; ``MethodNotAllowed`` when the path exists without that method; else None."""
        parts = split_path(path.split("?", 1)[0])
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for resource, (segments, _) in self._resources.items():
            params = _match(segments, parts)
            if params is None:
                continue
            rank = tuple(segment.kind for segment in segments)
            if best is None or rank < best[0]:
                best = (rank, resource, params)
        if best is None:
            return None
        _, resource, params = best
        methods = self._resources[resource][1]
        method = method.upper()
        declared = method if method in methods else "ANY" if "ANY" in methods else None
        if declared is None:
            return MethodNotAllowed(resource=resource, allowed=tuple(sorted(methods)))
        return Match(target=methods[declared], resource=resource, method=declared, path_parameters=params)
