"""The tables are declared once, by the models: the local runtime builds what they declare, and
a transaction's failed condition comes back as the error its own write named."""

from __future__ import annotations

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DuplicateEvent, NotFound
from chalicelib.store.models.base import MainItem, models_of
from chalicelib.store.models.orders import OrderLookupItem, ReceiptItem
from chalicelib.store.schema import MAIN, TABLES, TableSpec
from chalicelib.store.transaction import Transaction

pytestmark = pytest.mark.usefixtures("aws")


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.logical_id)
def test_the_local_runtime_builds_each_table_as_the_models_declare_it(spec: TableSpec) -> None:
    db = bootstrap.client("dynamodb")
    name = getattr(
        bootstrap.settings(),
        "main_table" if spec.env_var.endswith("MAIN_TABLE") else "outbox_table",
    )
    table = db.describe_table(TableName=name)["Table"]

    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    assert keys == {"HASH": spec.partition_key, "RANGE": spec.sort_key}
    indexes = {
        i["IndexName"]: {k["KeyType"]: k["AttributeName"] for k in i["KeySchema"]}
        for i in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {i.name: {"HASH": i.partition_key, "RANGE": i.sort_key} for i in spec.indexes}
    stream = table.get("StreamSpecification") or {}
    assert stream.get("StreamViewType") == spec.stream_view
    ttl = db.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == spec.ttl_attribute


def test_every_index_a_model_declares_is_an_index_of_its_table() -> None:
    declared = {
        (index.Meta.index_name, index._hash_key_attribute().attr_name)
        for model in models_of(MainItem)
        for index in model._indexes.values()
    }
    assert declared, "the main table's models declare the indexes dispatch and lookups use"
    assert declared <= {(i.name, i.partition_key) for i in MAIN.indexes}


def test_a_failed_condition_raises_the_error_its_own_write_named() -> None:
    """PynamoDB sends checks, deletes, puts and updates in that order, whatever the order of
    the calls: the error must still be the one named by the write whose condition failed."""
    ReceiptItem("TXTEST#taken", "RECEIPT", order_id="o").save()
    OrderLookupItem("TXTEST#lookup", "EXTREF", order_id="o").save()
    OrderLookupItem("TXTEST#checked", "EXTREF", order_id="o").save()

    tx = Transaction()
    tx.put(
        ReceiptItem("TXTEST#taken", "RECEIPT", order_id="o"),
        condition=ReceiptItem.pk.does_not_exist(),
        on_fail=DuplicateEvent("the put's"),
    )
    tx.update(
        OrderLookupItem("TXTEST#lookup", "EXTREF"),
        [OrderLookupItem.order_id.set("p")],
        condition=OrderLookupItem.order_id == "o",
        on_fail=NotFound("the update's"),
    )
    tx.check(
        OrderLookupItem,
        "TXTEST#checked",
        "EXTREF",
        condition=OrderLookupItem.order_id == "o",
        on_fail=AlreadyExists("the check's"),
    )
    with pytest.raises(DuplicateEvent, match="the put's"):
        tx.commit()
    # Nothing of it was written: the update's change is not there.
    assert OrderLookupItem.get("TXTEST#lookup", "EXTREF", consistent_read=True).order_id == "o"


def test_a_failed_condition_with_no_error_named_is_not_a_conflict() -> None:
    ReceiptItem("TXTEST#plain", "RECEIPT", order_id="o").save()
    tx = Transaction().put(
        ReceiptItem("TXTEST#plain", "RECEIPT", order_id="o"),
        condition=ReceiptItem.pk.does_not_exist(),
    )
    with pytest.raises(Exception) as raised:
        tx.commit()
    assert not isinstance(raised.value, ConcurrentUpdate)
