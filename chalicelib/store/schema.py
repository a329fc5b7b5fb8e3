"""The DynamoDB tables as the models declare them: keys, indexes, stream and TTL come from the
PynamoDB models, so the CDK app and the local runtime build exactly what the code reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import TTLAttribute

import chalicelib.store.models  # noqa: F401  (loads every model, so each table is whole)
from chalicelib.store.models.base import MainItem, OutboxItem, models_of


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    env_var: str
    local_name: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)
    ttl_attribute: str | None = None
    stream_view: str | None = None  # NEW_IMAGE etc.; None means no stream

    @property
    def key_attributes(self) -> tuple[str, ...]:
        keys = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        for index in self.indexes:
            keys += [index.partition_key, index.sort_key]
        return tuple(dict.fromkeys(keys))


def _key_names(schema: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def table_spec(base: type[MainItem] | type[OutboxItem], logical_id: str, env_var: str) -> TableSpec:
    """The table `base` and its subclasses live in, as they declare it."""
    models = models_of(base)
    indexes: dict[str, IndexSpec] = {}
    ttl: set[str] = set()
    for model in models:
        for index in model._indexes.values():
            schema = index._get_schema()
            hash_key, range_key = _key_names(schema["key_schema"])
            assert range_key is not None, f"{schema['index_name']} needs a sort key"
            spec = IndexSpec(schema["index_name"], hash_key, range_key)
            assert indexes.setdefault(spec.name, spec) == spec, f"{spec.name} declared twice"
        ttl |= {
            attr.attr_name
            for attr in model.get_attributes().values()
            if isinstance(attr, TTLAttribute)
        }
    assert len(ttl) <= 1, f"one TTL attribute per table, {base.__name__} has {sorted(ttl)}"
    partition_key, sort_key = _key_names(base._get_schema()["key_schema"])
    return TableSpec(
        logical_id=logical_id,
        env_var=env_var,
        local_name=base.Meta.table_name,
        partition_key=partition_key,
        sort_key=sort_key,
        indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
        ttl_attribute=next(iter(ttl), None),
        stream_view=getattr(base.Meta, "stream_view_type", None),
    )


# Single-table design for the business objects (merchants, depots, orders, timelines,
# lookups, dedupe receipts); the outbox is its own table because its stream drives notify/.
MAIN = table_spec(MainItem, "MainTable", "LASTMILE_MAIN_TABLE")
OUTBOX = table_spec(OutboxItem, "OutboxTable", "LASTMILE_OUTBOX_TABLE")

TABLES: tuple[TableSpec, ...] = (MAIN, OUTBOX)
