"""Local stand-in for Lambda's SQS event source: receives a queue's messages in moto, hands
Lambda-shaped batches to a handler, and deletes what it did not report failed (as
ReportBatchItemFailures does); a failed message comes back after its visibility timeout."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]


class QueuePoller:
    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        wait_s: int = 1,
        region: str = "eu-west-1",
    ) -> None:
        self._sqs = sqs_client
        self._url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._wait_s = wait_s
        self._region = region
        self._arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.failures = 0  # messages reported failed or in a batch that raised

    def poll_once(self) -> int:
        """Receive one batch (waiting up to `wait_s`) and hand it over; the number of messages."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_s,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        event = {"Records": [self._lambda_shaped(m) for m in messages]}
        try:
            answer = self._handler(event) or {}
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        except Exception:  # a raising handler fails its whole batch, as in Lambda
            log.exception("queue handler raised; the batch comes back after its timeout")
            failed = {m["MessageId"] for m in messages}
        self.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def _lambda_shaped(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }

    def start(self) -> QueuePoller:
        self._thread = threading.Thread(target=self._run, name="queue-poller", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    self._stop.wait(0.1)  # moto may answer an empty receive at once
            except Exception:  # the local loop outlives a moto hiccup; logged
                log.exception("queue poll failed; trying again")
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
