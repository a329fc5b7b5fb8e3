"""The smart lockers' infrastructure: the pickup-code key, and the alarms on kiosk lockouts and
on the expiry sweep (app.py `locker_sweep`, a Chalice schedule).

Built in two steps around the Chalice app, as Dispatch is: `Lockers(...)` first, whose
`environment` goes into the app's stage config, then `connect(api)` once its functions exist.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct

from .alarms import KIOSK_LOCKOUTS, PICKUP_CODE_CLASHES, app_metric_alarm, lambda_errors_alarm
from .removal import removal_for

SWEEP_FUNCTION = "locker_sweep"  # app.py's @app.schedule


class Lockers(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        secrets_prefix: str,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        self._topic = alarm_topic
        self.pickup_code_secret_name = f"{secrets_prefix}/platform/pickup-code-key"

        # Pickup codes are stored as HMACs under this key, and sealed under a key derived from
        # it on their way through the outbox (chalicelib/lockers/codes.py). Replacing it voids
        # every code waiting in a locker, so prod keeps it. The app's role may already read
        # every secret under the prefix (stacks/lastmile.py).
        self.pickup_code_key = secretsmanager.Secret(
            self,
            "PickupCodeKey",
            secret_name=self.pickup_code_secret_name,
            description="HMAC key of lockers' pickup codes (their stored hashes and seals)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=removal_for(stage),
        )
        # A named resource keeps its logical id whatever the construct tree becomes.
        child = self.pickup_code_key.node.default_child
        assert isinstance(child, CfnResource)
        child.override_logical_id("PickupCodeKey")

        self.environment = {"LASTMILE_PICKUP_CODE_SECRET_NAME": self.pickup_code_secret_name}

    def connect(self, api: Chalice) -> None:
        """The alarms, on the app's metrics and its sweep function."""
        for id, (metric_name, what) in (
            ("KioskLockoutsAlarm", KIOSK_LOCKOUTS),
            ("PickupCodeClashesAlarm", PICKUP_CODE_CLASHES),
        ):
            app_metric_alarm(
                self,
                self._topic,
                id=id,
                metric_name=metric_name,
                what=what,
            )
        # The sweep runs on a schedule, invoked asynchronously: its errors show nowhere else.
        sweep = api.get_resource(to_cfn_resource_name(SWEEP_FUNCTION))
        lambda_errors_alarm(self, self._topic, id="SweepErrorsAlarm", function_name=sweep.ref)
