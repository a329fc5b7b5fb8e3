"""The outbox stream reaches the notify function, which may report partial batch failures."""

from __future__ import annotations

from typing import Any

from chalicelib.store.schema import OUTBOX
from tests.infra.templates import statements_for, the_one


def test_the_outbox_stream_feeds_notify_with_partial_batch_failures(
    template: dict[str, Any],
) -> None:
    _, mapping = the_one(template, "AWS::Lambda::EventSourceMapping")
    assert "Notify" in str(mapping["FunctionName"])
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [OUTBOX.logical_id, "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert template["Resources"]["Notify"]["Properties"]["Timeout"] < 120, "under the claim lease"


def test_the_functions_may_send_sms(template: dict[str, Any]) -> None:
    statements = statements_for(template, "DefaultRole")
    assert any(
        "sns:Publish" in s["Action"] and "sns:CheckIfPhoneNumberIsOptedOut" in s["Action"]
        for s in statements
    )
