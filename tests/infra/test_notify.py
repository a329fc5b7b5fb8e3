"""The outbox stream reaches the notify function, which parks failed work in the retry queue
read by notify_retries; nothing is discarded: the stream mapping bisects, retries a bounded
number of times and sends what it gives up on to the dead-letter queue, which pages someone."""

from __future__ import annotations

from typing import Any

from chalicelib.notify.retry_queues import MAX_RECEIVES
from chalicelib.store.schema import OUTBOX
from tests.infra.templates import allows, get_att_arn, resources, statements_for

STREAM_RETENTION_S = 24 * 3600  # DynamoDB Streams keep a record this long


def queue_id(template: dict[str, Any], prefix: str) -> str:
    [found] = [k for k in resources(template, "AWS::SQS::Queue") if k.startswith(prefix)]
    return found


def mapping_from(template: dict[str, Any], source: Any) -> dict[str, Any]:
    [found] = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if r["Properties"]["EventSourceArn"] == source
    ]
    return found


def test_the_outbox_stream_feeds_notify_and_never_discards(template: dict[str, Any]) -> None:
    mapping = mapping_from(template, {"Fn::GetAtt": [OUTBOX.logical_id, "StreamArn"]})
    assert "Notify" in str(mapping["FunctionName"])
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 1 <= mapping["MaximumRetryAttempts"] <= 20  # bounded: a poison record moves on
    # Given up on well before the stream forgets it, so redrive can still read it back.
    assert mapping["MaximumRecordAgeInSeconds"] <= STREAM_RETENTION_S / 2
    dead = queue_id(template, "NotifyDeadLetterQueue")
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": get_att_arn(dead)}}
    assert template["Resources"]["Notify"]["Properties"]["Timeout"] < 120, "under the claim lease"


def test_parked_work_is_read_by_notify_retries_and_dead_lettered_by_the_queue_too(
    template: dict[str, Any],
) -> None:
    retry, dead = (
        queue_id(template, "NotifyRetryQueue"),
        queue_id(template, "NotifyDeadLetterQueue"),
    )
    mapping = mapping_from(template, get_att_arn(retry))
    assert "NotifyRetries" in str(mapping["FunctionName"])
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = template["Resources"][retry]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att_arn(dead),
        "maxReceiveCount": MAX_RECEIVES,
    }
    timeout = template["Resources"]["NotifyRetries"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= timeout  # Lambda refuses a shorter one
    assert template["Resources"][dead]["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    variables = template["Resources"]["NotifyRetries"]["Properties"]["Environment"]["Variables"]
    assert variables["LASTMILE_NOTIFY_RETRY_QUEUE_URL"] == {"Ref": retry}
    assert variables["LASTMILE_NOTIFY_DLQ_URL"] == {"Ref": dead}


def test_the_functions_may_park_retry_and_redrive(template: dict[str, Any]) -> None:
    statements = statements_for(template, "DefaultRole")
    for queue in (
        queue_id(template, "NotifyRetryQueue"),
        queue_id(template, "NotifyDeadLetterQueue"),
    ):
        for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"):
            assert allows(statements, action, get_att_arn(queue)), (action, queue)


def test_a_dead_letter_raises_an_alarm(template: dict[str, Any]) -> None:
    dead = queue_id(template, "NotifyDeadLetterQueue")
    [alarm] = [
        r["Properties"]
        for r in resources(template, "AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead, "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["AlarmActions"] and "redrive" in alarm["AlarmDescription"]


def test_the_functions_may_send_sms(template: dict[str, Any]) -> None:
    statements = statements_for(template, "DefaultRole")
    assert any(
        "sns:Publish" in s["Action"] and "sns:CheckIfPhoneNumberIsOptedOut" in s["Action"]
        for s in statements
    )
