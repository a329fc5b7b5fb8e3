"""Untrusted request bodies into Python values the store and the domain can hold: JSON parsed
within bounds (UTF-8, depth, numbers DynamoDB can store, valid Unicode), and pydantic's
complaints turned into ValidationFailed naming the field at fault."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, StringConstraints, ValidationError

from chalicelib.domain.errors import MalformedBody, ValidationFailed

# Deeper than any body we take (a Shopify order nests about 6); well under the recursion limit.
MAX_DEPTH = 32
# DynamoDB numbers: 38 significant digits, magnitudes from 1e-130 to 9.99...e125. Floats keep
# 17 digits at most; their magnitude is what a write would fail on (decimal.Underflow/Overflow).
MAX_INT_DIGITS = 38
SMALLEST_FLOAT = 1e-128  # a little inside DynamoDB's 1e-130, as boto3's decimal context traps
LARGEST_FLOAT = 9.9e125


_NONZERO = re.compile(r"[1-9]")


class _Unstorable:
    """A number the parser met that no store could hold; reported with its place in the body."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _parse_int(text: str) -> int | _Unstorable:
    # Checked before int(): converting thousands of digits is the slow path Python limits.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Unstorable(text, f"integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float | _Unstorable:
    value = float(text)
    if not math.isfinite(value):
        return _Unstorable(text, "number out of range")
    # 1e-400 reads as 0.0: refused as 1e-200 is, rather than stored as something else.
    tiny = not value and _NONZERO.search(text.lower().partition("e")[0])
    if tiny or (value and not SMALLEST_FLOAT <= abs(value) <= LARGEST_FLOAT):
        return _Unstorable(text, "number too small or too large to store (use 0 for nothing)")
    return value


def _parse_constant(text: str) -> _Unstorable:
    return _Unstorable(text, f"{text} is not a JSON number")


def parse_json(raw_body: bytes) -> Any:
    """The body as JSON: MalformedBody (400) when it is not UTF-8 JSON or nests past
    MAX_DEPTH; ValidationFailed (422) naming the field whose number or text cannot be stored."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"body is not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedBody(f"body nests deeper than {MAX_DEPTH} levels") from exc
    _check(data)
    return data


def _check(data: Any) -> None:
    """Walk the parsed body (iteratively: its depth is what is being checked)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise MalformedBody(f"body nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path, what="a key")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, path, what="text")
        elif isinstance(value, _Unstorable):
            where = field_path(path)
            raise ValidationFailed(f"{where}: {value.reason}", field=where)


def _check_text(text: str, path: tuple[str | int, ...], *, what: str) -> None:
    # JSON may spell lone surrogates (\ud800) that no UTF-8 store or response can carry.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = field_path(path)
        raise ValidationFailed(f"{where}: {what} that is not valid Unicode", field=where) from exc


def field_path(parts: tuple[str | int, ...] | list[str | int], prefix: str = "") -> str:
    """`parcels.0.weight_kg`; the whole body is `body`."""
    return prefix + ".".join(str(part) for part in parts) if parts or prefix else "body"


# A model validator names its field by starting its message "name: ..." (or "a.b: ...").
_NAMED = re.compile(r"^(?P<field>[A-Za-z_][\w.]*): (?P<rest>.+)$", re.DOTALL)


def validation_failed(exc: ValidationError, *, prefix: str = "") -> ValidationFailed:
    """The first of pydantic's complaints as ValidationFailed whose `field` is the path of
    the field at fault, also where a model-level validator found it."""
    first = exc.errors()[0]
    parts: list[str | int] = list(first["loc"])
    message = str(first["msg"])
    if first["type"] == "value_error":
        message = str(first.get("ctx", {}).get("error", message))
        named = _NAMED.match(message)
        if named:
            parts += named["field"].split(".")
            message = named["rest"]
    where = field_path(parts, prefix).removesuffix(".")
    return ValidationFailed(f"{where}: {message}", field=where)


# Field types for body models. An id is also a DynamoDB key part: ASCII, so its bytes are its
# characters, and short enough that any key built of two of them stays under 1024 bytes.
Id = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,64}$")]

# Times a body may carry: with an offset, and within years the epoch and TTL arithmetic, the
# calendars and the tracking page handle (year 9999 plus a day overflows datetime).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _within_years(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"a time from {EARLIEST.year} to {LATEST.year - 1}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within_years)]
