"""Between frozen domain dataclasses and the models' typed maps, field by field by name, so a
field added to both needs no third place."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def fields_of(value: Any) -> dict[str, Any]:
    """A dataclass's own fields (one level: nested values stay as they are)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def read_as(cls: type, attribute: Any) -> dict[str, Any]:
    """The values of a model or map attribute that `cls` (a dataclass) has fields for."""
    return {f.name: getattr(attribute, f.name) for f in fields(cls)}
