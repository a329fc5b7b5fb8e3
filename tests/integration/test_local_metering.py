"""The benchmarks' instruments on the embedded AWS: DynamoDB's throttling answered as DynamoDB
answers it, on the table asked for only, and the request units counted from item sizes, by
the function that asked. (Raw DynamoDB JSON: these test the stand-in on the wire.)"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.local.aws import REGION, EmbeddedAws
from chalicelib.local.aws_faults import DynamoDbThrottle
from chalicelib.local.metering import RequestCounter, set_tag, tag_requests


@pytest.fixture
def no_retries(aws: EmbeddedAws) -> object:
    """A DynamoDB client that shows the first answer (the SDK's retries would hide it)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=aws.endpoint,
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def throttle() -> Iterator[DynamoDbThrottle]:
    switch = DynamoDbThrottle(seed=7)
    yield switch
    switch.clear()


def _put(db: object, table: str, pk: str, size: int = 10) -> None:
    db.put_item(  # type: ignore[attr-defined]
        TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "A"}, "blob": {"S": "x" * size}}
    )


def test_a_throttled_table_refuses_with_dynamodbs_error_and_the_others_answer(
    no_retries: object, throttle: DynamoDbThrottle
) -> None:
    main, outbox = bootstrap.settings().main_table, bootstrap.settings().outbox_table
    throttle.throttle(main, seconds=30, rate=1.0)
    with pytest.raises(ClientError) as refused:
        _put(no_retries, main, "THROTTLE#1")
    assert refused.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _put(no_retries, outbox, "THROTTLE#1")  # another table is not throttled
    throttle.clear()
    _put(no_retries, main, "THROTTLE#1")
    got = no_retries.get_item(  # type: ignore[attr-defined]
        TableName=main, Key={"pk": {"S": "THROTTLE#1"}, "sk": {"S": "A"}}
    )
    assert "Item" in got
    assert throttle.refused == 1


def test_a_partial_throttle_is_ridden_out_by_the_sdks_retries(
    throttle: DynamoDbThrottle,
) -> None:
    main = bootstrap.settings().main_table
    throttle.throttle(None, seconds=30, rate=0.5)
    db = bootstrap.client("dynamodb")  # the app's own client: six attempts, backing off
    for n in range(20):
        _put(db, main, f"THROTTLE#half-{n}")
    assert throttle.refused > 0  # some were refused and retried, none was lost
    throttle.clear()
    keys = [{"pk": {"S": f"THROTTLE#half-{n}"}, "sk": {"S": "A"}} for n in range(20)]
    found = db.batch_get_item(RequestItems={main: {"Keys": keys}})["Responses"][main]
    assert len(found) == 20


def test_write_and_read_units_follow_item_sizes_by_the_tag_that_asked(aws: EmbeddedAws) -> None:
    tag_requests()
    counter = RequestCounter()
    db = aws.client("dynamodb")
    outbox = bootstrap.settings().outbox_table  # no global index: units are the item's own
    counter.on = True
    set_tag("probe")
    try:
        _put(db, outbox, "UNITS#big", size=3000)  # about 3 KB: 3 write units
        db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": outbox,
                        "Item": {"pk": {"S": f"UNITS#t{n}"}, "sk": {"S": "A"}},
                    }
                }
                for n in range(2)
            ]
        )  # two small items in a transaction: 2 x 2
        key = {"pk": {"S": "UNITS#big"}, "sk": {"S": "A"}}
        db.get_item(TableName=outbox, Key=key)  # 3 KB eventually consistent: half a unit
        db.get_item(TableName=outbox, Key=key, ConsistentRead=True)  # one unit
    finally:
        set_tag(None)
        counter.on = False
    probe = counter.by_tag["probe"]
    assert probe["dynamodb:write_units"] == 3 + 4
    assert probe["dynamodb:items_written"] == 3
    assert probe["dynamodb:write_requests"] == 2
    assert probe["dynamodb:read_units"] == 1.5
    assert counter.items_written == {"single": 1, "transactional": 2}


def test_an_item_in_a_global_index_is_written_again_there(aws: EmbeddedAws) -> None:
    tag_requests()
    counter = RequestCounter()
    db = aws.client("dynamodb")
    main = bootstrap.settings().main_table
    spec = next(s for s in _tables() if s.env_var == "LASTMILE_MAIN_TABLE")
    index = spec.indexes[0]
    item = {
        "pk": {"S": "UNITS#indexed"},
        "sk": {"S": "A"},
        index.partition_key: {"S": "G#1"},
        index.sort_key: {"S": "1"},
    }
    counter.on = True
    set_tag("indexed")
    try:
        db.put_item(TableName=main, Item=item)
    finally:
        set_tag(None)
        counter.on = False
    assert counter.by_tag["indexed"]["dynamodb:write_units"] == 2  # the table's and the index's


def _tables() -> list:  # type: ignore[type-arg]
    from chalicelib.store.schema import TABLES

    return list(TABLES)
