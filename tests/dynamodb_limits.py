"""What DynamoDB refuses in an item, checked without a network: a test can ask of any PynamoDB
model object whether the real service would take it (moto checks only some of these)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pynamodb.models import Model

from chalicelib.store.schema import TABLES

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_ITEM_BYTES = 400 * 1024
# DynamoDB numbers: up to 38 significant digits, magnitudes from 1E-130 to 9.99...E+125.
SMALLEST = Decimal("1E-130")
LARGEST = Decimal("1E+126")
DIGITS = 38


def _key_limits() -> dict[str, int]:
    limits: dict[str, int] = {}
    for table in TABLES:
        limits[table.partition_key] = MAX_PARTITION_KEY_BYTES
        if table.sort_key:
            limits[table.sort_key] = MAX_SORT_KEY_BYTES
        for index in table.indexes:
            limits[index.partition_key] = MAX_PARTITION_KEY_BYTES
            limits[index.sort_key] = MAX_SORT_KEY_BYTES
    return limits


KEY_LIMITS = _key_limits()  # every table's and index's key attributes, as the models declare


def refusals(item: Model) -> list[str]:
    """Why DynamoDB would refuse to write `item` (empty when it would take it)."""
    found: list[str] = []
    size = 0
    for name, value in item.serialize().items():
        size += len(name.encode()) + _size(value, f"{name}", found)
        limit = KEY_LIMITS.get(name)
        if limit is not None:
            text = value.get("S")
            if not text:
                found.append(f"{name}: a key attribute must be a non-empty string")
            elif len(text.encode()) > limit:
                found.append(f"{name}: {len(text.encode())} bytes, over {limit}")
    if size > MAX_ITEM_BYTES:
        found.append(f"item: {size} bytes, over {MAX_ITEM_BYTES}")
    return found


def _size(value: dict[str, Any], where: str, found: list[str]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        try:
            return len(inner.encode("utf-8"))
        except UnicodeEncodeError:
            found.append(f"{where}: not valid UTF-8 text")
            return 0
    if kind == "N":
        _number(inner, where, found)
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(v, f"{where}.{k}", found) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_size(v, f"{where}.{i}", found) for i, v in enumerate(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    return len(str(inner))


def _number(text: str, where: str, found: list[str]) -> None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        found.append(f"{where}: {text!r} is not a number")
        return
    if not number.is_finite():
        found.append(f"{where}: {text} is not finite")
        return
    magnitude = abs(number)
    if magnitude and not SMALLEST <= magnitude < LARGEST:
        found.append(f"{where}: {text} is out of DynamoDB's range")
    if len(number.normalize().as_tuple().digits) > DIGITS:
        found.append(f"{where}: {text} has more than {DIGITS} significant digits")
