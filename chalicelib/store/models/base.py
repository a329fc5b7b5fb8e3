"""The two tables' base models and the one DynamoDB connection every model shares.

Every item type is a subclass of `MainItem` or `OutboxItem` with a discriminator (`entity`),
so a query of one partition comes back as the right models. `configure()` points them at a
table name and endpoint (bootstrap does it from the settings); nothing connects before use."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pynamodb.attributes import DiscriminatorAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.connection.base import MetaTable
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

REGION = "eu-west-1"  # until configure() says otherwise

# Standard retry mode retries throttling and 5xx with backoff before we ever see them.
_RETRIES = 5
_POOL = 50


class _StoreModel(Model):
    """A model whose table shares one connection (one botocore client, created once per
    container) with every other model, instead of one client per model class."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        current = cls._connection
        if current is not None and current.table_name == cls.Meta.table_name:
            return current
        table = super()._get_connection()
        shared = shared_connection(cls.Meta.region, cls.Meta.host)
        # Every index of the models loaded so far, this one's included: a model's first use
        # comes after its class exists, so whatever it queries is known by then.
        shared._tables[cls.Meta.table_name] = _meta_table(_table_base(cls))
        table.connection = shared
        return table


class MainItem(_StoreModel):
    """The single table of business objects (orders, tenants, dispatch, lockers, logs)."""

    class Meta:
        table_name = "lastmile-main"
        region = REGION
        host: str | None = None
        max_retry_attempts = _RETRIES
        max_pool_connections = _POOL

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = DiscriminatorAttribute()


class OutboxItem(_StoreModel):
    """The outbox: its stream drives notify/ and the merchant webhooks."""

    class Meta:
        table_name = "lastmile-outbox"
        region = REGION
        host: str | None = None
        max_retry_attempts = _RETRIES
        max_pool_connections = _POOL
        stream_view_type = "NEW_IMAGE"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = DiscriminatorAttribute()


_Item = TypeVar("_Item", bound=Model)


class Gsi1Index(GlobalSecondaryIndex[_Item]):
    """The main table's first index (gsi1pk, gsi1sk). Each model that uses it says what its
    keys mean (one instance per model: PynamoDB binds an instance to its model)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2Index(GlobalSecondaryIndex[_Item]):
    """The main table's second index (gsi2pk, gsi2sk), likewise."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Gsi3Index(GlobalSecondaryIndex[_Item]):
    """The main table's third index (gsi3pk, gsi3sk), likewise."""

    class Meta:
        index_name = "gsi3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


TABLE_BASES: tuple[type[_StoreModel], ...] = (MainItem, OutboxItem)


def _table_base(model: type[Model]) -> type[_StoreModel]:
    return next(base for base in TABLE_BASES if issubclass(model, base))


def models_of(base: type[_StoreModel]) -> list[type[_StoreModel]]:
    """The base and every model of its table loaded so far (`chalicelib.store.models` loads
    them all)."""
    found: list[type[_StoreModel]] = [base]
    for model in found:
        found.extend(sub for sub in model.__subclasses__() if sub not in found)
    return found


def _meta_table(base: type[_StoreModel]) -> MetaTable:
    """The table as DynamoDB knows it: its keys and every index any of its models declares."""
    indexes: dict[str, Any] = {}
    for model in models_of(base):
        for index in model._indexes.values():
            index_schema = index._get_schema()
            indexes[index_schema["index_name"]] = {
                "IndexName": index_schema["index_name"],
                "KeySchema": index_schema["key_schema"],
            }
    table_schema = base._get_schema()
    return MetaTable(
        {
            "TableName": base.Meta.table_name,
            "KeySchema": table_schema["key_schema"],
            "AttributeDefinitions": table_schema["attribute_definitions"],
            "GlobalSecondaryIndexes": list(indexes.values()),
        }
    )


@cache
def shared_connection(region: str, host: str | None) -> Connection:
    return Connection(
        region=region,
        host=host,
        max_retry_attempts=_RETRIES,
        max_pool_connections=_POOL,
    )


def transaction_connection() -> Connection:
    """The connection transactions are sent on (the same as the models')."""
    return shared_connection(MainItem.Meta.region, MainItem.Meta.host)


def configure(*, main_table: str, outbox_table: str, region: str, host: str | None) -> None:
    """Point every model at these tables and this endpoint; forget earlier connections."""
    for table, name in ((MainItem, main_table), (OutboxItem, outbox_table)):
        table.Meta.table_name = name
        table.Meta.region = region
        table.Meta.host = host
    shared_connection.cache_clear()
    for base in TABLE_BASES:
        for model in models_of(base):
            model._connection = None
