"""Local stand-in for Lambda's DynamoDB stream event source: reads a table's stream in moto,
hands Lambda-shaped batches to a handler, and honours its partial batch response by reading
again from the first failed record after a pause (as ReportBatchItemFailures does). After
`max_retries` retries of one record, it gives up on that record as bisect-on-error ends: its
failure record (the batch's metadata, shaped as Lambda sends it) goes to `on_failure`, and
the shard moves on; without `on_failure` it is discarded, as Lambda discards it."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
FailureDestination = Callable[[dict[str, Any]], None]


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
        max_retries: int = 10,  # the mapping's maximum_retry_attempts (infra/)
        on_failure: FailureDestination | None = None,
        function_arn: str = "",
    ) -> None:
        self._streams = streams_client
        self._arn = arn
        self._handler = handler
        self._interval_s = interval_s
        self._retry_pause_s = retry_pause_s
        self._batch_size = batch_size
        self._start_at = start_at
        self._region = region
        self._max_retries = max_retries
        self._on_failure = on_failure
        self._function_arn = function_arn
        self._iterators: dict[str, str] = {}  # shard id -> where to read next
        self._tries: dict[str, tuple[str, int]] = {}  # shard id -> (failing record, attempts)
        self._resume_at = 0.0  # after a failure, not before this (monotonic clock)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0  # handed to the handler (for tests and the dispatch bench)
        self.failures = 0  # batches that came back with failures or raised
        self.dead_lettered = 0  # records given up on after their retries
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
            previous, tries = self._tries.get(shard_id, ("", 0))
            tries = tries + 1 if previous == first else 1
            if tries > self._max_retries:
                self._give_up(
                    shard_id, next(r for r in event["Records"] if _seq(r) == first), tries
                )
                self._tries.pop(shard_id, None)
                resume = "AFTER_SEQUENCE_NUMBER"
            else:
                self._tries[shard_id] = (first, tries)
                resume = "AT_SEQUENCE_NUMBER"
                self._resume_at = time.monotonic() + self._retry_pause_s
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self._arn,
                ShardId=shard_id,
                ShardIteratorType=resume,
                SequenceNumber=first,
            )["ShardIterator"]
        else:
            self._tries.pop(shard_id, None)
            self._iterators[shard_id] = page["NextShardIterator"]
        return len(records)

    def _give_up(self, shard_id: str, record: dict[str, Any], attempts: int) -> None:
        """What Lambda sends to the on-failure destination once bisecting has narrowed the
        failure to one record and its retries are used up: the batch's metadata, not the
        record (it stays readable in the stream for 24 hours)."""
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        arrival = (
            datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")
            if isinstance(created, int | float)
            else None
        )
        failure = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": _seq(record),
                "endSequenceNumber": _seq(record),
                "approximateArrivalOfFirstRecord": arrival,
                "approximateArrivalOfLastRecord": arrival,
                "batchSize": 1,
                "streamArn": self._arn,
            },
        }
        self.dead_lettered += 1
        if self._on_failure is None:
            log.error("stream record discarded after %d attempts: %s", attempts, failure)
            return
        log.error("stream record dead-lettered after %d attempts", attempts)
        self._on_failure(failure)

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


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])
