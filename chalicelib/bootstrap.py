"""Composition root: builds AWS clients, adapters and services lazily, once per container.

Never at import time (that would escape moto in tests) and never per call (wasted warm starts).
Tests and the local runtime call `reset()` after changing the environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import boto3
import requests
from botocore.config import Config

from chalicelib.accounts.service import AccountService
from chalicelib.allocation.service import Allocator
from chalicelib.allocation.stock_levels import StockLevels
from chalicelib.analytics.lake import LakeExport, S3Objects
from chalicelib.analytics.ops_sessions import OpsSessions
from chalicelib.analytics.recorder import FactRecorder
from chalicelib.analytics.summary import AnalyticsService
from chalicelib.billing.paid_actions import Action, PaidActions
from chalicelib.billing.stripe_api import StripeApi
from chalicelib.billing.usage import UsageBilling
from chalicelib.carriers.doordash_drive import DoorDashDrive
from chalicelib.carriers.handoff import CarrierHandoffs
from chalicelib.carriers.ports import DOORDASH_DRIVE, UBER_DIRECT, Carrier
from chalicelib.carriers.uber_direct import UberDirect
from chalicelib.carriers.webhooks import CarrierWebhooks
from chalicelib.config import settings
from chalicelib.delivery_options.pricing import PriceList
from chalicelib.delivery_options.service import DeliveryOptions
from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.dispatch.executions import StepFunctionsExecutions
from chalicelib.dispatch.reaper import Reaper
from chalicelib.dispatch.schedules import DepotSchedules
from chalicelib.dispatch.service import DispatchService
from chalicelib.domain.errors import DepotNotFound
from chalicelib.domain.order import TimelineEvent
from chalicelib.domain.tenancy import Depot
from chalicelib.domain.times import utc_now
from chalicelib.forecasting.job import ForecastJob
from chalicelib.forecasting.lambda_forecaster import LambdaForecaster
from chalicelib.forecasting.serving import ForecastService
from chalicelib.fulfilment.service import FulfilmentService
from chalicelib.fulfilment.shopify import shopify_reporters
from chalicelib.geocoding import Geocoder, NoGeocoder
from chalicelib.geocoding.amazon_location import AmazonLocationGeocoder
from chalicelib.intake.storefront_webhooks import WebhookIntake
from chalicelib.labels.function import RENDERER_TIMEOUT_S
from chalicelib.labels.lambda_renderer import LambdaLabelRenderer
from chalicelib.labels.sheets import LabelSheets
from chalicelib.list_cursors import ListCursors
from chalicelib.lockers.admin import LockerAdmin
from chalicelib.lockers.choices import CHOICE_RADIUS_M, LockerChoices
from chalicelib.lockers.codes import PickupCodeKeys
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.lockers.kiosk import LockerKiosk
from chalicelib.lockers.sweep import ExpirySweep
from chalicelib.merchant_webhooks.addresses import SystemResolver
from chalicelib.merchant_webhooks.dispatcher import WebhookDispatcher
from chalicelib.merchant_webhooks.endpoint_secrets import EndpointSecrets
from chalicelib.merchant_webhooks.endpoints import EndpointService
from chalicelib.merchant_webhooks.http_sender import PinnedSender
from chalicelib.notify.messages import Sms
from chalicelib.notify.parking import RetrySchedule
from chalicelib.notify.redrive import Redrive
from chalicelib.notify.sendgrid_email import SendGridEmail
from chalicelib.notify.service import NotificationService
from chalicelib.notify.sns_sms import SnsSms
from chalicelib.notify.sqs_parking import SqsParking
from chalicelib.notify.stream_records import DynamoDbStreamRecords
from chalicelib.orders.service import OrderService
from chalicelib.reconcile.connections import platform_clients
from chalicelib.reconcile.service import ReconcileService
from chalicelib.store.analytics import FactStore
from chalicelib.store.artifacts import Artifacts
from chalicelib.store.billing import BillingStore
from chalicelib.store.carrier_jobs import CarrierJobs
from chalicelib.store.delivery_options import DeliveryOptionStore
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.feedback import FeedbackStore
from chalicelib.store.forecasts import ForecastStore
from chalicelib.store.fulfilment_claims import FulfilmentClaims
from chalicelib.store.lockers import LockerRepository
from chalicelib.store.merchant_webhooks import EndpointRepository, WebhookDeliveryLog
from chalicelib.store.models.base import configure as configure_models
from chalicelib.store.notification_log import NotificationLog
from chalicelib.store.orders import OrderRepository
from chalicelib.store.rate_limits import RateWindows
from chalicelib.store.reconcile_cursors import ReconcileCursors, ReconcileRotation
from chalicelib.store.secrets import MerchantSecrets
from chalicelib.store.stock import StockRepository
from chalicelib.store.tenancy import TenancyRepository
from chalicelib.tracking.feedback import AnotherDay
from chalicelib.tracking.map_tiles import MapTiles
from chalicelib.tracking.proof_store import ProofStore
from chalicelib.tracking.proofs import ProofViews
from chalicelib.tracking.rate_limit import FixedWindowLimiter
from chalicelib.tracking.route_events import RouteEventService
from chalicelib.tracking.route_view import RouteViews

# Standard retry mode retries throttling and 5xx with backoff before we ever see them.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, max_pool_connections=50)


@cache
def client(service: str) -> Any:
    s = settings()
    endpoint = s.sns_endpoint_url if service == "sns" else s.aws_endpoint_url
    return boto3.session.Session().client(service, endpoint_url=endpoint, config=_CLIENT_CONFIG)


@cache
def store() -> None:
    """Point the store's models at this stage's tables and endpoint (once per container)."""
    s = settings()
    configure_models(
        main_table=s.main_table,
        outbox_table=s.outbox_table,
        region=s.aws_region,
        host=s.aws_endpoint_url,
    )


@cache
def order_repository() -> OrderRepository:
    store()
    return OrderRepository()


@cache
def accounts() -> AccountService:
    store()
    s = settings()
    # Depots' dispatch schedules need the tick function to target (set by the CDK app and the
    # local runtime); without it, depots dispatch on demand only.
    schedules = (
        DepotSchedules(
            client("scheduler"), s.schedule_group, s.dispatch_tick_arn, s.scheduler_role_arn
        )
        if s.dispatch_tick_arn
        else None
    )
    return AccountService(
        TenancyRepository(),
        MerchantSecrets(client("secretsmanager"), s.secrets_prefix),
        s.admin_key_sha256,
        schedules,
    )


@cache
def geocoder() -> Geocoder:
    if settings().geocoder == "amazon-location":
        # Geocoding happens while a storefront waits for our answer: fail fast into "held".
        quick = Config(
            retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3
        )
        return AmazonLocationGeocoder(
            boto3.session.Session().client(
                "geo-places", endpoint_url=settings().aws_endpoint_url, config=quick
            )
        )
    return NoGeocoder()


@cache
def stock_repository() -> StockRepository:
    store()
    return StockRepository()


@cache
def allocator() -> Allocator:
    store()
    return Allocator(TenancyRepository(), stock_repository())


@cache
def stock() -> StockLevels:
    return StockLevels(stock_repository(), accounts())


@cache
def orders() -> OrderService:
    return OrderService(
        order_repository(),
        geocoder(),
        routes=dispatch(),
        allocator=allocator(),
        facts=fact_recorder(),
        options=delivery_options(),
    )


@cache
def delivery_options() -> DeliveryOptions:
    """Quoted delivery options holding slot capacity; redeemed by orders."""
    store()
    directory = locker_directory()

    def nearest_locker(lat: float, lng: float, depot_id: str, sizes: list[str]) -> Any:
        found = directory.near(lat, lng, depot_id, sizes, limit=1, radius_m=CHOICE_RADIUS_M)
        return found[0] if found else None

    return DeliveryOptions(
        DeliveryOptionStore(),
        accounts(),
        hold=timedelta(seconds=settings().option_hold_s),
        nearest_locker=nearest_locker,
    )


@cache
def storefront_intake() -> WebhookIntake:
    return WebhookIntake(
        accounts(),
        orders(),
        settings().stripe_webhook_secret_name,
        stock=stock(),
        shipping_rate_metadata=lambda rate, account: stripe_api().shipping_rate_metadata(
            rate, account
        ),
        paid_action=lambda action_id: paid_actions().complete(action_id),
    )


@cache
def reconcile() -> ReconcileService:
    store()
    return ReconcileService(
        accounts(), orders(), ReconcileCursors(), platform_clients(), rotation=ReconcileRotation()
    )


@cache
def dispatch(repo: DispatchRepository | None = None) -> DispatchService:
    """The dispatch service (on another repository: the local runtime's injected faults)."""
    s = settings()
    return DispatchService(
        repo or dispatch_repository(),
        Artifacts(client("s3"), s.dispatch_bucket),
        accounts(),
        dispatch_executions(),
        driver_tokens(),
        lockers=locker_repository(),
        alternative=lambda order: locker_choices().alternative(order),
    )


def dispatch_executions() -> StepFunctionsExecutions:
    return StepFunctionsExecutions(client("stepfunctions"), settings().dispatch_state_machine_arn)


def dispatch_reaper() -> Reaper:
    return Reaper(dispatch_repository(), dispatch_executions(), dispatch().release)


@cache
def proof_store() -> ProofStore:
    """Proof-of-delivery images, beside the dispatch artefacts in the run bucket."""
    return ProofStore(client("s3"), settings().dispatch_bucket)


@cache
def proof_views() -> ProofViews:
    return ProofViews(order_repository(), proof_store())


@cache
def route_events() -> RouteEventService:
    return RouteEventService(
        dispatch_repository(),
        order_repository(),
        driver_tokens(),
        proof_store(),
        lockers=locker_kiosk,
        facts=fact_recorder(),
    )


def route_views() -> RouteViews:
    return RouteViews(dispatch_repository(), driver_tokens(), accounts().authenticate_admin)


@cache
def label_renderer() -> LambdaLabelRenderer:
    # Its own client: a read waits out the function's timeout (Lambda answers a function that
    # ran out of time with its error), and a throttle is retried twice, not five times: a
    # person waits on the PDF, and API Gateway cuts at 29 s.
    lambda_client = boto3.session.Session().client(
        "lambda",
        endpoint_url=settings().aws_endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=RENDERER_TIMEOUT_S + 2,
        ),
    )
    return LambdaLabelRenderer(lambda_client, settings().label_renderer_function)


@cache
def label_sheets() -> LabelSheets:
    return LabelSheets(
        order_repository(), dispatch_repository(), accounts().depot, label_renderer()
    )


@cache
def locker_repository() -> LockerRepository:
    store()
    return LockerRepository()


@cache
def pickup_code_keys() -> PickupCodeKeys:
    name = settings().pickup_code_secret_name
    return PickupCodeKeys(lambda: accounts().platform_secret(name))


@cache
def locker_directory() -> LockerDirectory:
    return LockerDirectory(locker_repository())


@cache
def locker_admin() -> LockerAdmin:
    return LockerAdmin(locker_repository(), accounts())


@cache
def locker_kiosk() -> LockerKiosk:
    return LockerKiosk(
        locker_repository(),
        order_repository(),
        pickup_code_keys(),
        locker_directory(),
        driver_tokens(),
        stop_served=lambda route_id, order_id, at: route_events().stop_served(
            route_id, order_id, at
        ),
        facts=fact_recorder(),
    )


@cache
def locker_choices() -> LockerChoices:
    return LockerChoices(
        locker_repository(), order_repository(), pickup_code_keys(), locker_directory()
    )


@cache
def locker_sweep() -> ExpirySweep:
    return ExpirySweep(locker_repository(), order_repository(), facts=fact_recorder())


@cache
def driver_tokens() -> DriverTokens:
    name = settings().driver_token_secret_name
    return DriverTokens(lambda: accounts().platform_secret(name))


@cache
def list_cursors() -> ListCursors:
    # The driver-token key, under a key derived for this use alone (list_cursors.py): one
    # platform secret the API already reads, rather than another for every stage to provision.
    name = settings().driver_token_secret_name
    return ListCursors(lambda: accounts().platform_secret(name))


def _sms_captured() -> Callable[[Sms, str], None] | None:
    """Local stage only: each SMS moto's SNS accepted also goes to GET /local/outbox."""
    if not settings().is_local:
        return None
    from chalicelib.local.capture import record  # local stage only

    def captured(sms: Sms, message_id: str) -> None:
        order_id = sms.tags.get("order_id")
        record(
            {
                "channel": "sms",
                "to": sms.to,
                "body": sms.body,
                "order_id": order_id,
                "at": utc_now(),
            }
        )

    return captured


@cache
def map_tiles() -> MapTiles | None:
    """The tracking page's map tiles (Amazon Location; the map API key in Secrets Manager), or
    None when the stage has no key (the local runtime, or before one is put): the sketch."""
    s = settings()
    if not s.maps_api_key_secret_name:
        return None
    api_key = accounts().platform_secret(s.maps_api_key_secret_name)
    if not api_key:
        return None
    return MapTiles.amazon_location(s.aws_region, api_key, endpoint=s.maps_endpoint_url)


@cache
def notifications() -> NotificationService:
    from sendgrid import SendGridAPIClient  # the notify function's only: not at import

    store()
    s = settings()
    api_key = accounts().platform_secret(s.sendgrid_api_key_secret_name)
    if not api_key:
        raise RuntimeError(f"secret {s.sendgrid_api_key_secret_name} is not set")
    return NotificationService(
        orders=order_repository(),
        accounts=accounts(),
        deliveries=NotificationLog(),
        email=SendGridEmail(SendGridAPIClient(api_key, host=s.sendgrid_host), s.email_sender),
        sms=SnsSms(client("sns"), sender_id=s.sms_sender_id or None, on_published=_sms_captured()),
        public_base_url=s.public_base_url,
        pickup_codes=pickup_code_keys(),
    )


@cache
def parking() -> SqsParking:
    """Outbox work parked after a failure: the retry queue and the dead-letter queue."""
    s = settings()
    if not s.notify_retry_queue_url or not s.notify_dead_letter_queue_url:
        raise RuntimeError("LASTMILE_NOTIFY_RETRY_QUEUE_URL and LASTMILE_NOTIFY_DLQ_URL are unset")
    return SqsParking(client("sqs"), s.notify_retry_queue_url, s.notify_dead_letter_queue_url)


@cache
def retry_schedule() -> RetrySchedule:
    return RetrySchedule.parse(settings().notify_retry_delays_s)


@cache
def redrive() -> Redrive:
    """Dead-lettered outbox work put back (operators, `lastmile ops redrive`)."""
    return Redrive(parking(), DynamoDbStreamRecords(client("dynamodbstreams")))


@cache
def dispatch_repository() -> DispatchRepository:
    store()
    return DispatchRepository()


@cache
def tracking_limiter() -> FixedWindowLimiter:
    """Public tracking requests per client IP and minute."""
    store()
    return FixedWindowLimiter(RateWindows(), scope="track", limit=60)


@cache
def endpoint_secrets() -> EndpointSecrets:
    return EndpointSecrets(client("secretsmanager"), settings().secrets_prefix)


@cache
def endpoint_repository() -> EndpointRepository:
    store()
    return EndpointRepository()


@cache
def webhook_endpoints() -> EndpointService:
    """Merchants' webhook endpoints; plain-http URLs to this machine only on the local stage
    (its receivers), which the local runtime sets (LASTMILE_STAGE=local)."""
    return EndpointService(
        endpoint_repository(),
        endpoint_secrets(),
        allow_local_http=settings().is_local,
        resolver=SystemResolver(),
    )


@cache
def merchant_webhooks() -> WebhookDispatcher:
    store()
    s = settings()
    return WebhookDispatcher(
        endpoints=endpoint_repository(),
        deliveries=WebhookDeliveryLog(),
        secrets=endpoint_secrets(),
        orders=order_repository(),
        sender=PinnedSender(allow_local_http=s.is_local),
        public_base_url=s.public_base_url,
    )


@cache
def feedback_store() -> FeedbackStore:
    """Customers' ratings of delivered parcels, one per order beside the order."""
    store()
    return FeedbackStore(rated=fact_recorder().rated)


@cache
def fact_store() -> FactStore:
    """Analytics facts and their daily aggregates in the main table."""
    store()
    return FactStore()


@cache
def analytics() -> AnalyticsService:
    """The analytics API's summary and CSV, read from the daily aggregates and facts."""
    return AnalyticsService(fact_store(), accounts())


@cache
def forecast_service() -> ForecastService:
    """The analytics API's forecasts: read from the items the forecast job writes."""
    store()
    return ForecastService(ForecastStore(), accounts())


@cache
def forecast_job() -> ForecastJob:
    """Each depot's daily history to the forecasting function (through the Lambda API), and
    its answer stored."""
    store()

    def depots() -> Iterator[Depot]:
        start = None
        while True:
            page = accounts().depots_page(limit=100, start=start)
            yield from page.items
            if page.last_key is None:
                return
            start = page.last_key

    forecaster = LambdaForecaster(client("lambda"), settings().forecast_function)
    return ForecastJob(depots, fact_store(), forecaster, ForecastStore())


@cache
def ops_sessions() -> OpsSessions:
    """The dashboard's signed sessions, keyed by the operator key's hash."""
    return OpsSessions(settings().admin_key_sha256)


@cache
def fact_recorder() -> FactRecorder:
    """The facts of each state change, staged into that change's transaction."""

    def zone(depot_id: str) -> str | None:
        store()
        found = TenancyRepository().get_depot(depot_id)
        return found.timezone if found else None

    def timeline(order_id: str) -> list[TimelineEvent]:
        found = order_repository().get_with_timeline(order_id)
        return found[1] if found else []

    return FactRecorder(
        fact_store(),
        zone,
        timeline,
        dispatch_repository().get_route,
        order_repository().get,
    )


@cache
def fulfilment() -> FulfilmentService:
    """Shopify orders' fulfilments, reported with our tracking once out for delivery."""
    store()
    s = settings()
    return FulfilmentService(
        order_repository(),
        accounts(),
        FulfilmentClaims(),
        shopify_reporters(),
        s.public_base_url,
    )


@cache
def stripe_api() -> StripeApi:
    """The stripe SDK's client on Stripe's API (or, locally, its stand-in), with the platform's
    secret key from Secrets Manager."""
    import stripe  # only the functions that call Stripe pay for importing the SDK

    s = settings()
    api_key = accounts().platform_secret(s.stripe_api_key_secret_name)
    if not api_key:
        raise RuntimeError(f"secret {s.stripe_api_key_secret_name} is not set")
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": s.stripe_api_base},
        # The SDK retries what Stripe marks retryable (409, 429 lock timeouts, 5xx) with the
        # same idempotency key; past these, the outbox parks the work.
        max_network_retries=2,
    )
    return StripeApi(client, s.stripe_meter_event_name)


@cache
def usage_billing() -> UsageBilling:
    """Delivered parcels counted per merchant and month, and reported to Stripe Billing."""
    store()
    return UsageBilling(BillingStore(), order_repository(), accounts(), stripe_api)


@cache
def another_day() -> AnotherDay:
    """Another delivery day after a failed attempt, in the depot's zone."""
    store()

    def zone_of(depot_id: str) -> tzinfo:
        # As the page shows it (tracking/page.py): UTC for a depot or zone not known.
        try:
            return ZoneInfo(accounts().depot(depot_id).timezone)
        except (DepotNotFound, ZoneInfoNotFoundError, ValueError):
            return UTC

    return AnotherDay(order_repository(), zone_of)


@cache
def paid_actions() -> PaidActions:
    """Tracking-page actions the merchant prices, paid through Stripe Checkout."""
    store()
    choices = locker_choices()
    actions = {
        "extension": Action(
            check=lambda order, _: choices.check_extension(order),
            apply=lambda order, _: choices.extend(order),
        ),
        "locker": Action(
            check=lambda order, params: choices.check_choice(order, params["locker_id"]),
            apply=lambda order, params: choices.choose(order, params["locker_id"]),
        ),
        "reschedule": Action(
            check=lambda order, params: another_day().check(order, params["date"]),
            apply=lambda order, params: another_day().choose(order.order_id, params["date"]),
        ),
    }

    def prices(merchant_id: str) -> PriceList | None:
        body = DeliveryOptionStore().price_list(merchant_id)
        return PriceList.from_dict(body) if body else None

    return PaidActions(order_repository(), prices, stripe_api, actions, settings().public_base_url)


@cache
def carriers() -> dict[str, Carrier]:
    """The partner carriers whose credentials are in Secrets Manager (a JSON secret each),
    sharing one HTTP session; a carrier without them is left out."""
    s = settings()
    session = requests.Session()
    built: dict[str, Carrier] = {}
    uber = _json_secret(s.uber_direct_secret_name)
    if uber:
        built[UBER_DIRECT] = UberDirect(
            session, uber, api_url=s.uber_direct_api_url, auth_url=s.uber_direct_auth_url
        )
    doordash = _json_secret(s.doordash_drive_secret_name)
    if doordash:
        built[DOORDASH_DRIVE] = DoorDashDrive(session, doordash, api_url=s.doordash_drive_api_url)
    return built


def _json_secret(name: str) -> dict[str, str] | None:
    raw = accounts().platform_secret(name)
    if not raw:
        return None
    found = json.loads(raw)
    if not isinstance(found, dict):
        raise RuntimeError(f"secret {name} is not a JSON object")
    return {str(k): str(v) for k, v in found.items()}


@cache
def carrier_handoffs() -> CarrierHandoffs:
    """Overflow orders offered to their depot's partner carriers (an outbox handler)."""
    store()
    return CarrierHandoffs(order_repository(), accounts(), CarrierJobs(), carriers())


@cache
def carrier_webhooks() -> CarrierWebhooks:
    store()
    return CarrierWebhooks(carriers(), order_repository(), CarrierJobs())


@cache
def lake_export() -> LakeExport:
    """The facts' Parquet copy in the lake bucket (the exporter function; locally a timer)."""
    from chalicelib.analytics.lake_duckdb import DuckDbParquet

    store()
    tenancy = TenancyRepository()

    def depot_ids() -> Iterator[str]:
        start = None
        while True:
            page = tenancy.depots_page(limit=100, start=start)
            yield from (d.depot_id for d in page.items)
            if page.last_key is None:
                return
            start = page.last_key

    return LakeExport(fact_store(), depot_ids, DuckDbParquet(), lake_objects())


@cache
def lake_objects() -> S3Objects:
    return S3Objects(client("s3"), settings().lake_bucket)


def reset() -> None:
    """Forget every client and service (after the environment changed)."""
    settings.cache_clear()
    for built in (
        client,
        store,
        order_repository,
        accounts,
        geocoder,
        stock_repository,
        allocator,
        stock,
        orders,
        storefront_intake,
        reconcile,
        dispatch,
        route_events,
        proof_store,
        proof_views,
        label_renderer,
        label_sheets,
        driver_tokens,
        list_cursors,
        locker_repository,
        pickup_code_keys,
        locker_directory,
        locker_admin,
        locker_kiosk,
        locker_choices,
        locker_sweep,
        notifications,
        parking,
        retry_schedule,
        redrive,
        dispatch_repository,
        tracking_limiter,
        endpoint_secrets,
        endpoint_repository,
        webhook_endpoints,
        merchant_webhooks,
        feedback_store,
        lake_export,
        lake_objects,
        fulfilment,
        stripe_api,
        usage_billing,
        delivery_options,
        another_day,
        paid_actions,
        carriers,
        carrier_handoffs,
        carrier_webhooks,
    ):
        built.cache_clear()
