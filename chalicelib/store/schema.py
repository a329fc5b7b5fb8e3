"""The DynamoDB tables, declared once: the CDK app and the local runtime both build from this."""

from __future__ import annotations

from dataclasses import dataclass, field


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


# Single-table design for the business objects (merchants, depots, orders, timelines,
# lookups, dedupe receipts); the outbox is its own table because its stream drives notify/.
MAIN = TableSpec(
    logical_id="MainTable",
    env_var="LASTMILE_MAIN_TABLE",
    local_name="lastmile-main",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        IndexSpec("gsi1", "gsi1pk", "gsi1sk"),  # merchant's orders by external id
        IndexSpec("gsi2", "gsi2pk", "gsi2sk"),  # depot's orders by status (dispatch)
    ),
    ttl_attribute="expires_at",
)

OUTBOX = TableSpec(
    logical_id="OutboxTable",
    env_var="LASTMILE_OUTBOX_TABLE",
    local_name="lastmile-outbox",
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="expires_at",
    stream_view="NEW_IMAGE",
)

TABLES: tuple[TableSpec, ...] = (MAIN, OUTBOX)
