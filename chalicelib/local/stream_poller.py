"""Local stand-in for Lambda's DynamoDB stream event source: reads a table's stream in moto,
hands Lambda-shaped batches to a handler, and honours its partial batch response by reading
again from the first failed record after a pause (as ReportBatchItemFailures does)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]


def stream_arn(dynamodb_client: Any, table: str) -> str:
    """The table's current stream."""
    return str(dynamodb_client.describe_table(TableName=table)["Table"]["LatestStreamArn"])


class StreamPoller:
    def __init__(
        self,
        streams_client: Any,
        arn: str,
        handler: Handler,
        *,
        interval_s: float = 0.25,
        retry_pause_s: float = 1.0,
        batch_size: int = 100,
        start_at: str = "TRIM_HORIZON",  # or LATEST: only what is written from now on
        region: str = "eu-west-1",
    ) -> None:
        self._streams = streams_client
        self._arn = arn
        self._handler = handler
        self._interval_s = interval_s
        self._retry_pause_s = retry_pause_s
        self._batch_size = batch_size
        self._start_at = start_at
        self._region = region
        self._iterators: dict[str, str] = {}  # shard id -> where to read next
        self._resume_at = 0.0  # after a failure, not before this (monotonic clock)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0  # handed to the handler (for tests and the dispatch bench)
        self.failures = 0  # batches that came back with failures or raised
        self.busy_s = 0.0  # seconds the handler took, over all batches (for the benchmarks)
        self.caught_up = False  # the last poll found every shard read to its end

    def open(self) -> StreamPoller:
        """Position on every shard (done by the first poll when not called)."""
        with self._lock:
            self._open()
        return self

    def _open(self) -> None:
        stream = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
        for shard in stream.get("Shards", []):
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType=self._start_at
                )["ShardIterator"]

    def poll_once(self) -> int:
        """Read each shard once and hand what is new to the handler; the number of records."""
        with self._lock:
            if time.monotonic() < self._resume_at:
                self.caught_up = False  # a failed batch waits to be read again
                return 0
            self._open()
            read = sum(self._poll_shard(shard) for shard in list(self._iterators))
            self.caught_up = read == 0
            return read

    def _poll_shard(self, shard_id: str) -> int:
        page = self._streams.get_records(
            ShardIterator=self._iterators[shard_id], Limit=self._batch_size
        )
        records = page.get("Records", [])
        if not records:
            self._iterators[shard_id] = page.get("NextShardIterator") or self._iterators[shard_id]
            return 0
        event = {"Records": [self._lambda_shaped(r) for r in records]}
        self.caught_up = False  # not while this batch is in hand
        self.batches += 1
        started = time.monotonic()
        try:
            answer = self._handler(event) or {}
            failed = [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
        except Exception:  # a raising handler fails its whole batch, as in Lambda
            log.exception("stream handler raised; the batch is read again")
            failed = [records[0]["dynamodb"]["SequenceNumber"]]
        finally:
            self.busy_s += time.monotonic() - started
        if failed:
            self.failures += 1
            first = min(failed, key=int)
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self._arn,
                ShardId=shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=first,
            )["ShardIterator"]
            self._resume_at = time.monotonic() + self._retry_pause_s
        else:
            self._iterators[shard_id] = page["NextShardIterator"]
        return len(records)

    def _lambda_shaped(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as Lambda delivers it: the stream's ARN and region, epoch seconds."""
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        return {
            **record,
            "awsRegion": self._region,
            "eventSourceARN": self._arn,
            "dynamodb": dynamodb,
        }

    def start(self) -> StreamPoller:
        """Poll in a daemon thread every `interval_s` until stop()."""
        self.open()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.poll_once()
            except Exception:  # the local loop outlives a moto hiccup; logged
                log.exception("stream poll failed; trying again")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
