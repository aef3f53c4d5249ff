"""The size DynamoDB counts for an item, by its published rules: moto checks the 400 KB limit with a lighter count
(no overhead for lists and maps), so a test near the limit measures the item as DynamoDB would."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

ITEM_LIMIT = 400 * 1024  # DynamoDB's maximum item size, attribute names included


def value_size(value: Any) -> int:
    """A string its UTF-8 bytes; a number 1 byte per two significant digits, plus 1; a list or a map 3 bytes,
    plus 1 byte and its size per element (and a map's names); a set the sum of its elements."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, Decimal)):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (set, frozenset)):
        return sum(value_size(element) for element in value)
    if isinstance(value, list):
        return 3 + sum(1 + value_size(element) for element in value)
    if isinstance(value, Mapping):
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in value.items())
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def item_size(raw: Mapping[str, Any]) -> int:
    """The size of an item as the low-level client returns it (``{"S": ...}`` values)."""
    deserializer = TypeDeserializer()
    return sum(len(name.encode()) + value_size(deserializer.deserialize(value)) for name, value in raw.items())
