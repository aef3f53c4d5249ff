"""A request as the dev HTTP server received it and the response it sends back: plain data, no framework."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpRequest:
    """A request as the local HTTP server received it."""

    method: str
    target: str  # path and query string, as received (percent-encoded)
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    host: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """The last value of a header, by case-insensitive name."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
        return cls(status, [("Content-Type", "application/json"), *headers], json.dumps(payload).encode())

    def header(self, name: str) -> str | None:
        for key, value in reversed(self.headers):
            if key.lower() == name.lower():
                return value
        return None
