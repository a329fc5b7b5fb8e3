"""The local stand-in keeps DynamoDB's promises where moto alone does not (or does slowly):
a cancelled transaction leaves no trace, in the table or in its stream. (Raw DynamoDB JSON on
purpose: this tests the stand-in on the wire, beneath the models.)"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap

pytestmark = pytest.mark.usefixtures("aws")


def _stream_records(table: str) -> int:
    streams = bootstrap.client("dynamodbstreams")
    arn = bootstrap.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return len(streams.get_records(ShardIterator=iterator)["Records"])


def test_a_cancelled_transaction_is_undone_in_the_table_and_its_stream() -> None:
    db = bootstrap.client("dynamodb")
    main, outbox = bootstrap.settings().main_table, bootstrap.settings().outbox_table
    db.put_item(TableName=main, Item={"pk": {"S": "T#1"}, "sk": {"S": "A"}, "n": {"N": "1"}})
    db.put_item(TableName=main, Item={"pk": {"S": "T#2"}, "sk": {"S": "A"}})
    before = _stream_records(outbox)

    with pytest.raises(ClientError, match="TransactionCanceled"):
        db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": outbox, "Item": {"pk": {"S": "T#new"}, "sk": {"S": "X"}}}},
                {
                    "Update": {
                        "TableName": main,
                        "Key": {"pk": {"S": "T#1"}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": main,
                        "Key": {"pk": {"S": "T#2"}, "sk": {"S": "A"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    kept = db.get_item(
        TableName=main, Key={"pk": {"S": "T#1"}, "sk": {"S": "A"}}, ConsistentRead=True
    )
    assert kept["Item"]["n"] == {"N": "1"}
    assert "Item" not in db.get_item(TableName=outbox, Key={"pk": {"S": "T#new"}, "sk": {"S": "X"}})
    assert _stream_records(outbox) == before
