"""The outbox stream's records named by a failed batch's metadata (what Lambda sends to the
stream mapping's on-failure destination), read back while the stream still holds them (24 h)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code
from chalicelib.store.orders import message_from_stream

_PAGES = 50  # reads of one shard before giving up on reaching the batch's end
_GONE = frozenset(
    {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
)


class DynamoDbStreamRecords:
    def __init__(self, streams_client: Any) -> None:
        self._streams = streams_client

    def messages(self, batch: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The outbox messages the batch inserted, in order; None when the stream no longer
        holds them (trimmed after 24 hours, or the stream replaced)."""
        start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
        try:
            iterator = self._streams.get_shard_iterator(
                StreamArn=batch["streamArn"],
                ShardId=batch["shardId"],
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=batch["startSequenceNumber"],
            )["ShardIterator"]
            found: list[dict[str, Any]] = []
            for _ in range(_PAGES):
                page = self._streams.get_records(ShardIterator=iterator, Limit=100)
                if not page.get("Records") and found:
                    return found  # an open shard's end: nothing newer was written yet
                for record in page.get("Records", []):
                    number = int(record["dynamodb"]["SequenceNumber"])
                    if number > end:
                        return found
                    if number >= start and record.get("eventName") == "INSERT":
                        found.append(message_from_stream(record["dynamodb"]["NewImage"]))
                iterator = page.get("NextShardIterator")
                if not iterator:
                    break
            return found
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
