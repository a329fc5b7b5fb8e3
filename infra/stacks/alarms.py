"""The alarms that page someone: the API answering 5xx, Lambda functions failing, dispatch runs
failing, timing out or reaped, a locker kiosk locking after repeated wrong pickup codes or a
pickup code matching two parcels, outbox work dead-lettered."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.aws_cloudwatch_actions import SnsAction
from constructs import Construct

PERIOD = Duration.minutes(5)
# The app emits its alerts' counts through Powertools' single_metric (chalicelib's `_alert`s)
# with exactly this namespace and dimension set; an alarm matches the set exactly.
APP_METRICS_NAMESPACE = "lastmile"
APP_METRICS_DIMENSIONS = {"service": "lastmile"}


def _alarm(
    scope: Construct, id: str, metric: cloudwatch.Metric, topic: sns.ITopic, what: str
) -> cloudwatch.Alarm:
    # A 5xx is a bug here (conventions), so one in a period is worth a look; quiet periods
    # report no data, which is the healthy case.
    alarm = cloudwatch.Alarm(
        scope,
        id,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=what,
    )
    alarm.add_alarm_action(SnsAction(topic))
    return alarm


def api_5xx_alarm(
    scope: Construct, topic: sns.ITopic, *, api_name: str, api_stage: str
) -> cloudwatch.Alarm:
    """API Gateway's own count, so throttles and timeouts in front of the handler show too."""
    metric = cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name="5XXError",
        dimensions_map={"ApiName": api_name, "Stage": api_stage},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )
    return _alarm(scope, "Api5xxAlarm", metric, topic, "The lastmile API answered 5xx.")


def lambda_errors_alarm(
    scope: Construct, topic: sns.ITopic, *, id: str, function_name: str
) -> cloudwatch.Alarm:
    """Invocations that raised: for non-HTTP handlers (streams, tasks) nothing else shows it."""
    metric = cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions_map={"FunctionName": function_name},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )
    return _alarm(scope, id, metric, topic, "A lastmile Lambda function raised.")


def app_metric_alarm(
    scope: Construct,
    topic: sns.ITopic,
    *,
    id: str,
    metric_name: str,
    what: str,
) -> cloudwatch.Alarm:
    """On one of the app's own counts."""
    metric = cloudwatch.Metric(
        namespace=APP_METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map=APP_METRICS_DIMENSIONS,
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )
    return _alarm(scope, id, metric, topic, what)


# The app's counts that want a person, and what the alarm tells them.
KIOSK_LOCKOUTS = (
    # chalicelib/lockers/kiosk.py: a customer mistyping, or someone guessing codes.
    "KioskLockouts",
    "A locker kiosk locked its pickups after 5 wrong codes in 15 minutes; the log line "
    "'locker kiosk locked after repeated wrong pickup codes' names the locker.",
)
PICKUP_CODE_CLASHES = (
    # chalicelib/lockers/kiosk.py: codes are drawn unique per locker, so two live parcels that
    # answer one code mean the store was written around that rule.
    "PickupCodeClashes",
    "A pickup code matched two parcels at one locker and opened neither; the log line "
    "'a pickup code matches several parcels; refused' names the locker.",
)
DISPATCH_RUNS_REAPED = (
    # chalicelib/dispatch/reaper.py: a run died outside the state machine's Catch (timed out,
    # stopped, a task killed). Nothing was lost, but nothing was planned either.
    "DispatchRunsReaped",
    "A lastmile dispatch run died outside its state machine's Catch and was reaped (its "
    "orders are ready again); the log line 'dispatch run reaped' names the run.",
)


def state_machine_alarms(
    scope: Construct, topic: sns.ITopic, state_machine: sfn.StateMachine
) -> list[cloudwatch.Alarm]:
    """A failed run released its orders (nothing is lost) but planned nothing: worth a look."""
    return [
        _alarm(
            scope,
            "StateMachineFailedAlarm",
            state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            topic,
            "A lastmile dispatch run failed.",
        ),
        _alarm(
            scope,
            "StateMachineTimedOutAlarm",
            state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            topic,
            "A lastmile dispatch run timed out (its orders stay claimed until their lease ends).",
        ),
    ]


def dead_letters_alarm(scope: Construct, topic: sns.ITopic, queue: sqs.IQueue) -> cloudwatch.Alarm:
    """Outbox work that failed every attempt (or a stream batch Lambda gave up on) waits in the
    dead-letter queue for `lastmile ops redrive`: one is worth a look."""
    metric = queue.metric_approximate_number_of_messages_visible(
        statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD
    )
    return _alarm(
        scope,
        "NotifyDeadLettersAlarm",
        metric,
        topic,
        "Outbox work (emails, SMS, webhooks, fulfilments) is in the dead-letter queue: "
        "see `lastmile ops parked`, fix the cause, then `lastmile ops redrive`.",
    )
