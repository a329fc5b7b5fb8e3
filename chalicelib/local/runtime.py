"""The local runtime: moto on loopback, tables and demo data, and the Chalice app served over
HTTP by chalice's own local server (threaded), all in one process."""

from __future__ import annotations

import json
import logging
import os
import shlex
import threading
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from chalicelib import bootstrap, jobs
from chalicelib.api.local import serve_local_routes
from chalicelib.carriers.ports import DOORDASH_DRIVE, UBER_DIRECT
from chalicelib.domain.tenancy import key_hash
from chalicelib.local import PROJECT_DIR, app_module
from chalicelib.local.aws import REGION, EmbeddedAws, create_queues, create_tables
from chalicelib.local.aws_faults import CrashSwitch, DynamoDbThrottle
from chalicelib.local.carriers_fake import CarrierStandIns, local_carrier_credentials
from chalicelib.local.dispatch import deploy_dispatch, start_scheduler
from chalicelib.local.label_renderer import deploy_label_renderer
from chalicelib.local.outages import VendorOutages
from chalicelib.local.queue_poller import QueuePoller
from chalicelib.local.scheduler import LocalScheduler
from chalicelib.local.seed import DEMO_ORDERS, DemoData, seed
from chalicelib.local.sendgrid_fake import SendGridFake
from chalicelib.local.sns_gate import SnsGate
from chalicelib.local.stepfunctions import LambdaContext, LocalStepFunctions
from chalicelib.local.stream_poller import StreamPoller, stream_arn
from chalicelib.local.stripe_fake import StripeFake


class _Server(ThreadedHTTPServer):
    # Storefronts retry in bursts; the default listen backlog of 5 resets connections.
    request_queue_size = 256


# Parked outbox work retried as in a deployed stage, on a schedule of seconds instead of
# minutes (LASTMILE_NOTIFY_RETRY_DELAYS_S), so an outage and its recovery show in a minute.
LOCAL_RETRY_DELAYS_S = "1,2,4,8,16"
# Retries of a stream record the notify function could not finish, before it is dead-lettered
# (the deployed mapping's maximum_retry_attempts is larger; each local retry waits a second).
LOCAL_STREAM_RETRIES = 3


class _Handler(ChaliceRequestHandler):
    """Chalice's request handler, with the gateway's own refusals in the API's error shape, as
    the deployed stage's gateway responses give them (infra/stacks/gateway_responses.py): a path
    no route matches is 404 `not_found` (API Gateway's 403 "Missing Authentication Token")."""

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):
            status, code, message = 404, "not_found", "no such path"
        else:
            status, code, message = error.CODE, "error", "the gateway refused the request"
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        # Chalice's x-amzn-ErrorType (UnauthorizedException) would say what this is not.
        request_id = {k: v for k, v in error.headers.items() if k.lower() == "x-amzn-requestid"}
        headers = {**request_id, "Content-Type": "application/json"}
        self._send_http_response(status, headers, body)


# The scheduled jobs fired by the local runtime, and how often EventBridge runs them (not
# reconcile: it would call the storefronts' real APIs).
SCHEDULES = {
    "locker_sweep": 900.0,
    "webhook_retries": 60.0,
    "dispatch_reaper": 300.0,
    "lake_export": 900.0,
}


def export_block(names: dict[str, str]) -> str:
    """`export A=... B=...` for a POSIX shell, one name a line, each value quoted if it must be."""
    pairs = [f"{name}={shlex.quote(value)}" for name, value in names.items()]
    return "export " + " \\\n  ".join(pairs)


def function_context(function: str, timeout_s: float) -> LambdaContext:
    """The context Lambda gives one invocation of `function` (the deadline its timeout sets)."""
    return LambdaContext(
        function_name=function,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function}",
        aws_request_id=str(uuid.uuid4()),
        deadline=time.time() + timeout_s,
    )


class LocalRuntime:
    def __init__(
        self,
        *,
        port: int,
        admin_key: str,
        stripe_secret: str,
        seed: bool = True,
        fire_schedules: bool = True,
        retry_delays_s: str = LOCAL_RETRY_DELAYS_S,
        stream_retries: int = LOCAL_STREAM_RETRIES,
    ) -> None:
        self.port = port
        self.admin_key = admin_key
        self.stripe_secret = stripe_secret
        self.base_url = f"http://127.0.0.1:{port}"
        self._seed = seed
        self._fire_schedules = fire_schedules
        self._retry_delays_s = retry_delays_s
        self._stream_retries = stream_retries
        self.aws = EmbeddedAws()
        self.demo: DemoData | None = None
        self.workflow: LocalStepFunctions | None = None
        self.scheduler: LocalScheduler | None = None
        self.sendgrid: SendGridFake | None = None
        self.sns_gate: SnsGate | None = None
        self.stripe: StripeFake | None = None
        self.carriers: CarrierStandIns | None = None
        self.notify_poller: StreamPoller | None = None
        self.retry_poller: QueuePoller | None = None
        self.throttle: DynamoDbThrottle | None = None
        self.notify_crash = CrashSwitch()  # arm(n): notify dies after n records of a batch
        self._server: LocalDevServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> LocalRuntime:
        self.aws.start()
        self.sendgrid = SendGridFake().start()
        os.environ["LASTMILE_SENDGRID_HOST"] = self.sendgrid.host
        # SMS reach moto's SNS through a gate that can be taken down (POST /local/vendors/...).
        self.sns_gate = SnsGate(self.aws.endpoint).start()
        os.environ["AWS_ENDPOINT_URL_SNS"] = self.sns_gate.endpoint
        # The stripe SDK's API base points at a stand-in that sends its webhooks back here.
        self.stripe = StripeFake(
            webhook_url=lambda: f"{self.base_url}/v1/webhooks/stripe",
            webhook_secret=lambda: self.stripe_secret,
        ).start()
        os.environ["LASTMILE_STRIPE_API_BASE"] = self.stripe.api_base
        # Uber Direct and DoorDash Drive, on one stand-in, with credentials of this runtime's.
        self.carriers = CarrierStandIns(local_carrier_credentials()).start()
        os.environ.update(
            {
                "LASTMILE_UBER_DIRECT_API_URL": self.carriers.uber_api_url,
                "LASTMILE_UBER_DIRECT_AUTH_URL": self.carriers.uber_auth_url,
                "LASTMILE_DOORDASH_DRIVE_API_URL": self.carriers.doordash_api_url,
            }
        )
        os.environ.update(
            {
                "LASTMILE_STAGE": "local",
                "LASTMILE_ADMIN_KEY_SHA256": key_hash(self.admin_key),
                "LASTMILE_PUBLIC_BASE_URL": self.base_url,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_DEV": os.environ.get("POWERTOOLS_DEV", "false"),
                "LASTMILE_NOTIFY_RETRY_DELAYS_S": self._retry_delays_s,
            }
        )
        os.environ.update(create_tables(self.aws.client("dynamodb")))
        queues = create_queues(self.aws.client("sqs"))
        os.environ.update(queues)
        os.environ.setdefault("LASTMILE_GEOCODER", "none")  # moto has no Amazon Location
        bootstrap.reset()
        self.aws.client("secretsmanager").create_secret(
            Name=bootstrap.settings().stripe_webhook_secret_name, SecretString=self.stripe_secret
        )
        app_py = app_module()
        app = app_py.app
        chalice_config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
        self.workflow, _ = deploy_dispatch(self.aws)
        # Label PDFs are drawn by their own function, run by the same Lambda stand-in.
        deploy_label_renderer(self.workflow)
        self.aws.client("secretsmanager").create_secret(
            Name=bootstrap.settings().sendgrid_api_key_secret_name, SecretString="SG.local-fake"
        )
        self.aws.client("secretsmanager").create_secret(
            Name=bootstrap.settings().stripe_api_key_secret_name,
            SecretString="sk_test_local_" + uuid.uuid4().hex,
        )
        for name, creds in (
            (bootstrap.settings().uber_direct_secret_name, self.carriers.credentials[UBER_DIRECT]),
            (
                bootstrap.settings().doordash_drive_secret_name,
                self.carriers.credentials[DOORDASH_DRIVE],
            ),
        ):
            self.aws.client("secretsmanager").create_secret(
                Name=name, SecretString=json.dumps(creds)
            )
        # The outbox stream, polled the way Lambda's event source mapping reads it, into the
        # notify function's own handler, with the context Lambda would give it; what it gives
        # up on goes to the dead-letter queue, as the mapping's on-failure destination.
        timeouts = {
            name: chalice_config["lambda_functions"][name]["lambda_timeout"]
            for name in ("notify", "notify_retries")
        }
        notify, notify_retries = app_py.notify, app_py.notify_retries
        sqs = self.aws.client("sqs")
        dead_letters = queues["LASTMILE_NOTIFY_DLQ_URL"]
        self.notify_poller = StreamPoller(
            self.aws.client("dynamodbstreams"),
            stream_arn(self.aws.client("dynamodb"), bootstrap.settings().outbox_table),
            lambda event: self.notify_crash.call(
                lambda batch: notify(batch, function_context("notify", timeouts["notify"])), event
            ),
            region=REGION,
            max_retries=self._stream_retries,
            on_failure=lambda failure: sqs.send_message(
                QueueUrl=dead_letters, MessageBody=json.dumps(failure)
            ),
            function_arn=function_context("notify", 0).invoked_function_arn,
        ).start()
        # Parked work, read from the retry queue as Lambda's SQS event source reads it.
        self.retry_poller = QueuePoller(
            sqs,
            queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"],
            lambda event: notify_retries(
                event, function_context("notify_retries", timeouts["notify_retries"])
            ),
            region=REGION,
        ).start()
        if self._seed:
            self.demo = seed()
        if self._fire_schedules:
            self.scheduler = start_scheduler(self.aws)
            for name, every in SCHEDULES.items():
                threading.Thread(
                    target=self._every, args=(name, every), name=name, daemon=True
                ).start()
        config = Config.create(
            chalice_stage="local",
            app_name="lastmile",
            chalice_app=app,
            config_from_disk=chalice_config,
        )
        os.environ.update(config.environment_variables)
        outages = VendorOutages(
            {
                "sendgrid": self.sendgrid.outage,
                "sns": self.sns_gate.outage,
                "stripe": self.stripe.outage,
                "carriers": self.carriers.outage,
            }
        )
        self.throttle = DynamoDbThrottle()
        serve_local_routes(app, self.sendgrid, outages, self.throttle, self.stripe, self.carriers)
        # What chalice's create_local_server does, with a server that takes bursts.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
        self._server = LocalDevServer(
            app, config, "127.0.0.1", self.port, handler_cls=_Handler, server_cls=_Server
        )
        self._thread = threading.Thread(target=self._server.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _every(self, name: str, seconds: float) -> None:
        """Run the scheduled job `name` every `seconds`, as EventBridge would."""
        while not self._stopped.wait(seconds):
            try:
                jobs.SCHEDULED[name](datetime.now(UTC))
            except Exception:  # the loop outlives one bad run; the failure is logged whole
                logging.getLogger(__name__).exception("scheduled %s failed", name)

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.notify_poller is not None:
            self.notify_poller.stop()
        if self.retry_poller is not None:
            self.retry_poller.stop()
        if self.sendgrid is not None:
            self.sendgrid.stop()
        if self.sns_gate is not None:
            self.sns_gate.stop()
        if self.stripe is not None:
            self.stripe.stop()
        if self.carriers is not None:
            self.carriers.stop()
        if self.workflow is not None:
            self.workflow.close()
        self.aws.stop()
        self._stopped.set()

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "aws_endpoint": self.aws.endpoint,
            "region": REGION,
            "admin_key": self.admin_key,
            "stripe_webhook_secret": self.stripe_secret,
            "stripe_api_base": self.stripe.api_base if self.stripe else None,
            "demo": asdict(self.demo) if self.demo else None,
            "exports": self.exports(),
        }

    def exports(self) -> dict[str, str]:
        """The names the README's commands use, with this runtime's values: paste the block
        `make run` prints into another shell and every command works as written."""
        names = {
            "API": self.base_url,
            "ADMIN_KEY": self.admin_key,
            # `lastmile ops` reads its own names (a CLI that picked up a generic `API` from
            # whatever shell it ran in would be a surprise), so the block sets them as well.
            "LASTMILE_URL": self.base_url,
            "LASTMILE_KEY": self.admin_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe_secret,
            # S3 alone (the lake's files for `lastmile analytics-sql`), not every AWS command.
            "AWS_ENDPOINT_URL_S3": self.aws.endpoint,
        }
        if self.demo:
            d = self.demo
            names |= {
                "MERCHANT_KEY": d.api_key,
                "MERCHANT_ID": d.merchant_id,
                "LASTMILE_MERCHANT_KEY": d.api_key,  # for `lastmile ops orders`
                "SHOPIFY_SECRET": d.shopify_secret,
                "WEBHOOK_SECRET": d.webhook_secret,
                "KIOSK_KEY": d.kiosk_key,
                "LOCKER": d.locker_id,
                "DEPOT": d.depot_id,
            }
        return names

    def banner(self) -> str:
        lines = [
            f"lastmile is serving on {self.base_url} (AWS stand-in: {self.aws.endpoint})",
            "",
            "Paste into another shell (the README's commands use these names):",
            "",
            export_block(self.exports()),
            "",
        ]
        if self.demo:
            lines += [
                f"Demo: depot {self.demo.depot_id} with {DEMO_ORDERS} ready orders, merchant "
                f"{self.demo.merchant_id}, locker {self.demo.locker_id}.",
                "Try it:",
                "  make demo         # one parcel from webhook to doorstep, step by step",
                '  curl -s -X POST "$API/v1/depots/$DEPOT/dispatch" -H "Authorization: Bearer'
                ' $ADMIN_KEY"',
            ]
        lines.append('  curl -s "$API/local/outbox"')
        return "\n".join(lines)
