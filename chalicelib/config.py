"""Settings read from the environment once per container (no AWS clients here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    stage: str
    main_table: str
    outbox_table: str
    secrets_prefix: str
    admin_key_sha256: str
    public_base_url: str
    stripe_webhook_secret_name: str
    aws_endpoint_url: str | None
    sns_endpoint_url: str | None  # SNS alone elsewhere (the local runtime's outage gate)
    aws_region: str
    geocoder: str  # "amazon-location" or "none"
    dispatch_bucket: str
    lake_bucket: str  # the facts' Parquet copy (analytics/lake.py)
    dispatch_state_machine_arn: str
    driver_token_secret_name: str
    pickup_code_secret_name: str
    dispatch_tick_arn: str
    forecast_function: str  # the forecasting function (the optimiser's package)
    schedule_group: str
    scheduler_role_arn: str
    sendgrid_api_key_secret_name: str
    maps_api_key_secret_name: str  # the tracking page's map key; "" for no map (the sketch)
    maps_endpoint_url: str | None  # Amazon Location Maps elsewhere (a stand-in); None: AWS's
    sendgrid_host: str
    email_sender: str
    sms_sender_id: str
    notify_retry_queue_url: str
    notify_dead_letter_queue_url: str
    notify_retry_delays_s: str  # e.g. "30,60,120": the wait before each retry of parked work
    stripe_api_key_secret_name: str
    stripe_api_base: str  # Stripe's API, or the local stand-in's
    stripe_meter_event_name: str  # the Billing meter delivered parcels are reported to
    option_hold_s: int  # how long a quoted delivery option holds its capacity
    # Partner carriers: each one's credentials (a JSON secret) and API base (a stand-in locally).
    uber_direct_secret_name: str
    uber_direct_api_url: str
    uber_direct_auth_url: str
    doordash_drive_secret_name: str
    doordash_drive_api_url: str
    label_renderer_function: str  # the Lambda function that draws label PDFs (labels/renderer)

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@cache
def settings() -> Settings:
    """The settings of this container; `settings.cache_clear()` re-reads them (tests)."""
    env = os.environ
    return Settings(
        stage=env.get("LASTMILE_STAGE", "dev"),
        main_table=env.get("LASTMILE_MAIN_TABLE", "lastmile-main"),
        outbox_table=env.get("LASTMILE_OUTBOX_TABLE", "lastmile-outbox"),
        secrets_prefix=env.get("LASTMILE_SECRETS_PREFIX", "lastmile"),
        admin_key_sha256=env.get("LASTMILE_ADMIN_KEY_SHA256", ""),
        public_base_url=env.get("LASTMILE_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        stripe_webhook_secret_name=env.get(
            "LASTMILE_STRIPE_WEBHOOK_SECRET_NAME", "lastmile/platform/stripe-webhook"
        ),
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        sns_endpoint_url=env.get("AWS_ENDPOINT_URL_SNS") or env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
        geocoder=env.get("LASTMILE_GEOCODER", "amazon-location"),
        dispatch_bucket=env.get("LASTMILE_DISPATCH_BUCKET", "lastmile-dispatch"),
        lake_bucket=env.get("LASTMILE_LAKE_BUCKET", "lastmile-lake"),
        dispatch_state_machine_arn=env.get("LASTMILE_DISPATCH_STATE_MACHINE_ARN", ""),
        driver_token_secret_name=env.get(
            "LASTMILE_DRIVER_TOKEN_SECRET_NAME", "lastmile/platform/driver-token-key"
        ),
        pickup_code_secret_name=env.get(
            "LASTMILE_PICKUP_CODE_SECRET_NAME", "lastmile/platform/pickup-code-key"
        ),
        dispatch_tick_arn=env.get("LASTMILE_DISPATCH_TICK_ARN", ""),
        forecast_function=env.get("LASTMILE_FORECAST_FUNCTION", ""),
        schedule_group=env.get("LASTMILE_SCHEDULE_GROUP", "lastmile"),
        scheduler_role_arn=env.get("LASTMILE_SCHEDULER_ROLE_ARN", ""),
        sendgrid_api_key_secret_name=env.get(
            "LASTMILE_SENDGRID_API_KEY_SECRET_NAME", "lastmile/platform/sendgrid-api-key"
        ),
        maps_api_key_secret_name=env.get("LASTMILE_MAPS_API_KEY_SECRET_NAME", ""),
        # The SDKs' own name for the service's endpoint (not AWS_ENDPOINT_URL: moto has no maps).
        maps_endpoint_url=env.get("AWS_ENDPOINT_URL_GEO_MAPS") or None,
        sendgrid_host=env.get("LASTMILE_SENDGRID_HOST", "https://api.sendgrid.com"),
        email_sender=env.get("LASTMILE_EMAIL_SENDER", "notifications@lastmile.example"),
        sms_sender_id=env.get("LASTMILE_SMS_SENDER_ID", ""),
        notify_retry_queue_url=env.get("LASTMILE_NOTIFY_RETRY_QUEUE_URL", ""),
        notify_dead_letter_queue_url=env.get("LASTMILE_NOTIFY_DLQ_URL", ""),
        # Two hours of retries, backing off to SQS's longest delay; then the dead-letter queue.
        notify_retry_delays_s=env.get(
            "LASTMILE_NOTIFY_RETRY_DELAYS_S", "30,60,120,300,600,900,900,900,900,900,900,900"
        ),
        stripe_api_key_secret_name=env.get(
            "LASTMILE_STRIPE_API_KEY_SECRET_NAME", "lastmile/platform/stripe-api-key"
        ),
        stripe_api_base=env.get("LASTMILE_STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        stripe_meter_event_name=env.get("LASTMILE_STRIPE_METER_EVENT", "delivered_parcels"),
        option_hold_s=int(env.get("LASTMILE_OPTION_HOLD_S", "900")),
        uber_direct_secret_name=env.get(
            "LASTMILE_UBER_DIRECT_SECRET_NAME", "lastmile/platform/uber-direct"
        ),
        uber_direct_api_url=env.get("LASTMILE_UBER_DIRECT_API_URL", "https://api.uber.com"),
        uber_direct_auth_url=env.get(
            "LASTMILE_UBER_DIRECT_AUTH_URL", "https://auth.uber.com/oauth/v2/token"
        ),
        doordash_drive_secret_name=env.get(
            "LASTMILE_DOORDASH_DRIVE_SECRET_NAME", "lastmile/platform/doordash-drive"
        ),
        doordash_drive_api_url=env.get(
            "LASTMILE_DOORDASH_DRIVE_API_URL", "https://openapi.doordash.com/drive/v2"
        ),
        label_renderer_function=env.get("LASTMILE_LABEL_RENDERER_FUNCTION", ""),
    )
