"""The bodies of answers that pydantic models shape: a view builds the model from domain
objects and dumps it, and the OpenAPI document takes each model's JSON schema
(`components.add_reply`), so what is sent and what is documented cannot drift apart. A reply
model lists every field it sends: nothing reaches an answer that is not named here (a merchant's
keys and secrets have no field, so no answer can carry them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.dispatch import PlannedRoute, RouteStop, Run
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import CarrierHandling, Order, OrderMessage, TimelineEvent
from chalicelib.domain.tenancy import Depot, Merchant, Vehicle
from chalicelib.notify.messages import State
from chalicelib.orders.views import tracking_url

if TYPE_CHECKING:
    from chalicelib.dispatch.service import RunResults
    from chalicelib.tracking.feedback import Feedback


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        """The JSON body: fields that are None are left out (schemas list them as optional)."""
        return self.model_dump(mode="json", exclude_none=True)


class ViewReply(Reply):
    """A reply to a service's answer that is already a mapping of the reply's fields: read as
    it is (a field the reply does not name is refused, never passed on)."""

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> Self:
        return cls.model_validate(view)


class DepotOut(Reply):
    depot_id: str
    name: str
    lat: float
    lng: float
    timezone: str
    created_at: str
    dispatch: dict[str, Any] = Field(description="the dispatch policy as last put")
    fulfilment: dict[str, Any] = Field(
        default_factory=dict, description="as a fulfilment location: area, daily capacity, cut-off"
    )

    @classmethod
    def of(cls, depot: Depot) -> DepotOut:
        return cls(
            depot_id=depot.depot_id,
            name=depot.name,
            lat=depot.lat,
            lng=depot.lng,
            timezone=depot.timezone,
            created_at=depot.created_at,
            dispatch=dict(depot.dispatch),
            fulfilment=dict(depot.fulfilment),
        )


class MerchantOut(Reply):
    """A merchant's profile: never its API key, webhook secret or storefront secrets."""

    merchant_id: str
    name: str
    depot_id: str
    created_at: str
    stripe_account_id: str | None = None
    notifications_off: list[str] = Field(description='"<message type>:<channel>" switched off')
    depot_ids: list[str] = Field(
        description="the depots that may fulfil its orders, depot_id first"
    )

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantOut:
        return cls(
            merchant_id=merchant.merchant_id,
            name=merchant.name,
            depot_id=merchant.depot_id,
            created_at=merchant.created_at,
            stripe_account_id=merchant.stripe_account_id,
            notifications_off=list(merchant.notifications_off),
            depot_ids=list(merchant.serving_depots),
        )


class DispatchPolicyOut(Reply):
    depot_id: str
    dispatch: dict[str, Any] = Field(description="waves, rolling, horizon_hours, time_limit_s...")

    @classmethod
    def of(cls, depot: Depot) -> DispatchPolicyOut:
        return cls(depot_id=depot.depot_id, dispatch=dict(depot.dispatch))


class RunSummaryOut(Reply):
    """A run as the depot's list shows it; GET /v1/dispatch-runs/{run_id} has its routes."""

    run_id: str
    depot_id: str
    status: Literal["running", "succeeded", "failed"]
    trigger: str
    started_at: str
    finished_at: str | None = None
    error: str | None = None
    figures: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, run: Run) -> RunSummaryOut:
        return cls(
            run_id=run.run_id,
            depot_id=run.depot_id,
            status=str(run.status),  # type: ignore[arg-type]
            trigger=run.trigger,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
            figures=dict(run.figures),
        )


class _Page(Reply):
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null after the last"
    )

    def body(self) -> dict[str, Any]:
        # Unlike other fields, a null next_cursor is sent: it is how a client knows it is done.
        return {**super().body(), "next_cursor": self.next_cursor}


class DepotsPage(_Page):
    items: list[DepotOut]


class MerchantsPage(_Page):
    items: list[MerchantOut]


class DispatchRunsPage(_Page):
    items: list[RunSummaryOut]


class FeedbackOut(Reply):
    """A customer's rating as stored; `comment` is always sent, null when none was given."""

    rating: int = Field(ge=1, le=5)
    comment: str | None
    at: str

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackOut:
        return cls(rating=feedback.rating, comment=feedback.comment, at=feedback.at)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class StockLevelOut(Reply):
    merchant_id: str
    sku: str
    quantity: int = Field(ge=0, description="free to allocate")
    reserved: int = Field(ge=0, description="held by open orders")


class StockOut(Reply):
    """A depot's stock levels (allocation/stock_levels.py gives them as mappings)."""

    depot_id: str
    items: list[StockLevelOut]

    @classmethod
    def of(cls, depot_id: str, levels: Sequence[Mapping[str, Any]]) -> StockOut:
        return cls(depot_id=depot_id, items=[StockLevelOut.model_validate(lv) for lv in levels])


class ParkedCounts(Reply):
    retrying: int = Field(ge=0, description="waiting for a retry (approximate, as SQS counts)")
    dead: int = Field(ge=0, description="dead-lettered (approximate)")


class ParkedLetter(Reply):
    """A dead letter described without its message: the fields of its kind, each as found
    (a null stays a null: the letter did not carry it)."""

    id: str
    kind: Literal["work", "stream_batch", "unreadable"]
    dead_lettered_at: str | None
    handler: str | None = None
    order_id: str | None = None
    type: str | None = None
    attempts: int | None = Field(default=None, ge=0)
    error: str | None = None
    first_failed_at: str | None = None
    last_failed_at: str | None = None
    records: int | None = None
    shard_id: str | None = None
    first_sequence_number: str | None = None
    last_sequence_number: str | None = None


class ParkedOut(ViewReply):
    """The parked outbox work (notify/redrive.py lists it as a mapping): one page, no cursor."""

    counts: ParkedCounts
    items: list[ParkedLetter]
    next_cursor: None = Field(default=None, description="always null: the list is one sample")

    def body(self) -> dict[str, Any]:
        # Each letter keeps the fields its kind has, nulls included, and no others.
        return self.model_dump(mode="json", exclude_unset=True) | {"next_cursor": None}


class SentMessage(Reply):
    """One message on one channel as the notification log keeps it (only what it recorded)."""

    type: str
    state: State
    to: str | None = None
    message_id: str | None = Field(default=None, description="the vendor's id of the message")
    reason: str | None = Field(default=None, description="why it was skipped or failed")
    vendor_status: str | None = None
    vendor_answer: str | None = None
    attempts: int = Field(ge=0)
    at: str | None = None


class SentMessagesOut(ViewReply):
    """What the customer was sent about an order, by channel (notify/service.py lists it)."""

    order_id: str
    email: list[SentMessage]
    sms: list[SentMessage]


class ProofLocation(Reply):
    lat: float
    lng: float


class ProofOut(ViewReply):
    """An order's proof of delivery as its merchant reads it (tracking/proofs.py builds it):
    the images through presigned GETs of 5 minutes."""

    order_id: str
    at: str
    labels_scanned: list[str]
    labels_missing: list[str]
    all_scanned: bool
    recipient_name: str | None = None
    safe_place: str | None = None
    photo_url: str | None = Field(default=None, json_schema_extra={"format": "uri"})
    signature_url: str | None = Field(default=None, json_schema_extra={"format": "uri"})
    location: ProofLocation | None = Field(default=None, description="the driver's GPS fix")


class WebhookEndpointOut(ViewReply):
    """A merchant's webhook endpoint as merchant_webhooks/endpoints.py shows it: never its
    secret (only the answer that creates it carries one)."""

    endpoint_id: str
    url: str
    types: list[str]
    created_at: str
    enabled: bool
    disabled_at: str | None = None
    disabled_reason: str | None = None
    failing_since: str | None = None

    def body(self) -> dict[str, Any]:
        # The view's fields as it gave them (a disabled endpoint's reason may be null).
        return self.model_dump(mode="json", exclude_unset=True)


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(pattern="^whsec_", description="its signing secret, shown this once")

    @classmethod
    def created(cls, view: Mapping[str, Any], secret: str) -> WebhookEndpointCreated:
        return cls.model_validate({**view, "secret": secret})


class WebhookEndpointsPage(_Page):
    items: list[WebhookEndpointOut]
    endpoints: list[WebhookEndpointOut] = Field(description="`items` again")

    def body(self) -> dict[str, Any]:
        items = [e.body() for e in self.items]
        return {"items": items, "endpoints": items, "next_cursor": self.next_cursor}


class LockerCreated(Reply):
    """The one answer that shows a locker's kiosk key: it is kept hashed, never shown again."""

    locker_id: str
    kiosk_key: str = Field(description="the kiosk's Bearer credential, shown once")


class DepotCreated(Reply):
    depot_id: str


class MerchantCreated(Reply):
    """The one answer that shows a merchant's keys: they are not kept to be shown again."""

    merchant_id: str
    api_key: str = Field(description="the merchant's API key, shown this once")
    webhook_secret: str = Field(
        pattern="^whsec_", description="the Standard Webhooks secret of its generic endpoint"
    )


class SecretRotated(Reply):
    merchant_id: str
    platform: Literal["shopify", "woocommerce"]


class DispatchStarted(Reply):
    run_id: str
    started: bool = Field(description="false: the run already running is answered")


class IntakeOut(Reply):
    """What a storefront's event did: the order it applied to, or why it changed nothing."""

    outcome: str = Field(
        description="created, updated, cancelled, duplicate, stale or ignored (an inventory "
        "event: what it did to the stock level)"
    )
    order_id: str | None = None
    reason: str | None = None


class NextStopOut(Reply):
    order_id: str
    eta: str | None


class RouteEventOut(ViewReply):
    """What a driver's event did (tracking/route_events.py): the fields of its kind, each as
    found (a null next stop stays a null: there is none left)."""

    route_id: str
    outcome: Literal["applied", "duplicate"]
    order_id: str | None = None
    status: str | None = Field(default=None, description="the order's status after the event")
    next_stop: NextStopOut | None = Field(
        default=None, description="the stop to drive to (null: none left)"
    )
    fix: Literal["used", "ignored"] | None = Field(default=None, description="a ping's fate")
    ignored: str | None = Field(default=None, description="why a ping was not used for ETAs")
    label: str | None = Field(default=None, description="the label scanned")
    loaded: int | None = Field(default=None, ge=0, description="parcels scanned onto the van")
    not_loaded: list[str] | None = Field(
        default=None, description="on departure: labels of the trip's parcels never scanned"
    )
    trip: int | None = Field(default=None, ge=1, description="the trip departing")
    locker_id: str | None = None
    compartment_id: str | None = Field(default=None, description="a deposit's first door")
    compartment_ids: list[str] | None = Field(default=None, description="the doors used")
    pickup_by: str | None = Field(default=None, description="a deposit's collection deadline")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class _Part(Reply):
    """A part of an answer read straight off a domain dataclass's attributes."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class BrandOut(_Part):
    """How the tracking page shows the merchant: only the fields it set."""

    display_name: str | None = None
    colour: str | None = Field(default=None, description="#rrggbb")
    help_url: str | None = Field(default=None, description="an https link")


class BrandReply(Reply):
    brand: BrandOut

    @classmethod
    def of(cls, merchant: Merchant) -> BrandReply:
        return cls(brand=BrandOut.model_validate(merchant.brand))


class OrderCustomer(_Part):
    name: str
    email: str | None = None
    phone: str | None = None


class OrderAddress(_Part):
    line1: str
    city: str
    postcode: str
    country: str
    line2: str | None = None
    lat: float | None = None
    lng: float | None = None


class OrderParcel(_Part):
    weight_kg: float
    size: Literal["S", "M", "L"] | None = None
    label: str | None = None


class OrderLine(_Part):
    sku: str
    quantity: int = Field(ge=0)


class OrderWindow(_Part):
    start: str = Field(description="ISO 8601 with offset")
    end: str


class OrderPrice(_Part):
    amount: int = Field(ge=0, description="minor units")
    currency: str = Field(pattern="^[A-Z]{3}$")


class OrderDelivery(_Part):
    type: Literal["home", "locker"]
    locker_id: str | None = None
    window: OrderWindow | None = None
    option_id: str | None = Field(default=None, description="the delivery option it redeemed")
    price: OrderPrice | None = Field(default=None, description="what the customer paid for it")


class OrderEvent(_Part):
    at: str
    status: OrderStatus
    type: str
    note: str | None = None


class OrderCarrier(_Part):
    """A partner carrier delivering the order instead of our fleet (its courier's position is
    for the tracking page only)."""

    name: Literal["uber_direct", "doordash_drive"]
    job_id: str
    status: str = Field(description="the carrier's last status applied")
    fee: OrderPrice
    quote_id: str

    @classmethod
    def of(cls, carrier: CarrierHandling) -> OrderCarrier:
        return cls(
            name=carrier.name,  # type: ignore[arg-type]
            job_id=carrier.job_id,
            status=carrier.status,
            fee=OrderPrice(amount=carrier.fee_amount, currency=carrier.fee_currency),
            quote_id=carrier.quote_id,
        )


class OrderOut(Reply):
    """An order as the merchant who owns it reads it (its version and the raw bounds of the
    told window stay inside)."""

    order_id: str
    merchant_id: str
    depot_id: str
    source: str
    external_id: str
    tracking_code: str
    tracking_url: str = Field(json_schema_extra={"format": "uri"})
    status: OrderStatus
    customer: OrderCustomer
    address: OrderAddress
    parcels: list[OrderParcel]
    delivery: OrderDelivery
    created_at: str
    updated_at: str
    source_updated_at: str | None = None
    attention_reason: str | None = Field(
        default=None, description="why it needs attention: out_of_area, out_of_stock, ..."
    )
    eta: str | None = None
    eta_window: OrderWindow | None = Field(default=None, description="the window told with the ETA")
    route_id: str | None = Field(default=None, description="the route it is planned on")
    run_id: str | None = Field(default=None, description="the last run that planned or passed it")
    unassigned_reason: str | None = Field(default=None, description="why that run left it out")
    failed_attempts: int = Field(ge=0)
    first_attempt: bool | None = Field(default=None, description="delivered at the first attempt")
    lines: list[OrderLine] = Field(description="what it carries (a shipment: its part)")
    reserved: list[OrderLine] = Field(description="the lines its depot's stock holds for it")
    promised_day: str | None = Field(default=None, json_schema_extra={"format": "date"})
    capacity_load: int = Field(ge=0, description="what it counts against its depot's capacity")
    shipment_of: str | None = Field(default=None, description="a split order's first shipment")
    shipments: list[str] = Field(description="every shipment of a split order")
    carrier: OrderCarrier | None = None
    timeline: list[OrderEvent] | None = Field(default=None, description="GET of one order only")

    @classmethod
    def of(
        cls, order: Order, base_url: str, timeline: list[TimelineEvent] | None = None
    ) -> OrderOut:
        told = order.eta and order.eta_from and order.eta_to
        return cls(
            order_id=order.order_id,
            merchant_id=order.merchant_id,
            depot_id=order.depot_id,
            source=order.source,
            external_id=order.external_id,
            tracking_code=order.tracking_code,
            tracking_url=tracking_url(base_url, order),
            status=order.status,
            customer=OrderCustomer.model_validate(order.customer),
            address=OrderAddress.model_validate(order.address),
            parcels=[OrderParcel.model_validate(p) for p in order.parcels],
            delivery=OrderDelivery.model_validate(order.delivery),
            created_at=order.created_at,
            updated_at=order.updated_at,
            source_updated_at=order.source_updated_at,
            attention_reason=order.attention_reason,
            eta=order.eta,
            eta_window=OrderWindow(start=order.eta_from, end=order.eta_to)  # type: ignore[arg-type]
            if told
            else None,
            route_id=order.route_id,
            run_id=order.run_id,
            unassigned_reason=order.unassigned_reason,
            failed_attempts=order.failed_attempts,
            first_attempt=order.first_attempt,
            lines=[OrderLine.model_validate(line) for line in order.lines],
            reserved=[OrderLine.model_validate(line) for line in order.reserved],
            promised_day=order.promised_day,
            capacity_load=order.capacity_load,
            shipment_of=order.shipment_of,
            shipments=list(order.shipments),
            carrier=OrderCarrier.of(order.carrier) if order.carrier else None,
            timeline=None if timeline is None else [OrderEvent.model_validate(e) for e in timeline],
        )


class OrdersPage(_Page):
    items: list[OrderOut]
    orders: list[OrderOut] = Field(description="items again: the key before the list paged")


class VehicleCapacity(Reply):
    parcels: int = Field(ge=0)
    weight_kg: float


class ShiftBreakOut(Reply):
    earliest: str
    latest: str
    minutes: int = Field(ge=0)


class VehicleShift(Reply):
    start: str = Field(description="ISO 8601 with offset")
    end: str
    breaks: list[ShiftBreakOut]


class VehicleOut(Reply):
    vehicle_id: str
    profile: str
    capacity: VehicleCapacity
    shift: VehicleShift
    skills: list[str]
    max_trips: int = Field(ge=1, description="trips a shift may hold, reloading between them")
    reload_minutes: int = Field(ge=0)

    @classmethod
    def of(cls, vehicle: Vehicle) -> VehicleOut:
        breaks = [
            ShiftBreakOut(earliest=b.earliest, latest=b.latest, minutes=round(b.duration_s / 60))
            for b in vehicle.breaks
        ]
        return cls(
            vehicle_id=vehicle.vehicle_id,
            profile=vehicle.profile,
            capacity=VehicleCapacity(
                parcels=vehicle.capacity_parcels, weight_kg=vehicle.capacity_weight_kg
            ),
            shift=VehicleShift(start=vehicle.shift_start, end=vehicle.shift_end, breaks=breaks),
            skills=list(vehicle.skills),
            max_trips=vehicle.max_trips,
            reload_minutes=round(vehicle.reload_s / 60),
        )


class FleetOut(Reply):
    depot_id: str
    vehicles: list[VehicleOut]

    @classmethod
    def of(cls, depot_id: str, vehicles: list[Vehicle]) -> FleetOut:
        return cls(depot_id=depot_id, vehicles=[VehicleOut.of(v) for v in vehicles])


class RunStop(Reply):
    order_id: str
    eta: str
    kind: str = Field(description="delivery or locker")
    trip: int = Field(ge=1)
    locker_id: str | None = None

    @classmethod
    def of(cls, stop: RouteStop) -> RunStop:
        return cls(
            order_id=stop.order_id,
            eta=stop.eta,
            kind=stop.kind,
            trip=stop.trip,
            locker_id=stop.locker_id,
        )


class RunTrip(Reply):
    trip: int = Field(ge=1)
    depart_at: str
    return_at: str
    stops: list[str] = Field(description="order ids in visit order")


class RunRoute(Reply):
    route_id: str
    vehicle_id: str
    driver_token: str
    start_at: str
    distance_m: int = Field(ge=0)
    duration_s: int = Field(ge=0)
    stops: list[RunStop]
    loaded: list[str] = Field(description="parcel labels scanned onto the van")
    not_loaded: list[str] = Field(description="its parcels' labels it departed without")
    trips: list[RunTrip] = Field(
        description="one, or several when the vehicle reloads at the depot"
    )

    @classmethod
    def of(cls, route: PlannedRoute, driver_token: str) -> RunRoute:
        trips = [
            RunTrip(
                trip=t.trip,
                depart_at=t.depart_at,
                return_at=t.return_at,
                stops=[s.order_id for s in route.stops if s.trip == t.trip],
            )
            for t in route.trip_list()
        ]
        return cls(
            route_id=route.route_id,
            vehicle_id=route.vehicle_id,
            driver_token=driver_token,
            start_at=route.start_at,
            distance_m=round(route.distance_m),
            duration_s=round(route.duration_s),
            stops=[RunStop.of(s) for s in route.stops],
            loaded=list(route.loaded),
            not_loaded=list(route.not_loaded),
            trips=trips,
        )


class LeftOut(Reply):
    order_id: str
    reason: str


class DispatchRunOut(RunSummaryOut):
    """A run with what it made: its routes (each with its driver token) and the orders it
    left out."""

    routes: list[RunRoute]
    unassigned: list[LeftOut]

    @classmethod
    def of_results(cls, results: RunResults) -> DispatchRunOut:
        summary = RunSummaryOut.of(results.run)
        return cls(
            **dict(summary),
            routes=[RunRoute.of(route, token) for route, token in results.routes],
            unassigned=[LeftOut(order_id=o, reason=r) for o, r in results.unassigned.items()],
        )


class SwitchedOffOut(Reply):
    type: OrderMessage
    channel: Literal["email", "sms"]


class NotificationPreferencesOut(Reply):
    """The merchant's customer messages switched off; everything not listed is on."""

    off: list[SwitchedOffOut]

    @classmethod
    def of(cls, off: Sequence[str]) -> NotificationPreferencesOut:
        """`off`: "<message type>:<channel>" entries, as the merchant keeps them."""
        pairs = (entry.split(":") for entry in off)
        return cls(off=[SwitchedOffOut.model_validate({"type": t, "channel": c}) for t, c in pairs])


class ProofUploadOut(ViewReply):
    """Where the driver's phone POSTs a proof photo or signature, and the key its delivered
    event cites (tracking/route_events.py)."""

    url: str = Field(json_schema_extra={"format": "uri"}, description="the S3 POST's address")
    fields: dict[str, str] = Field(description="the form fields to send, as given, before the file")
    kind: Literal["photo", "signature"]
    key: str
    photo_key: str | None = Field(default=None, description="the key, for a photo")
    signature_key: str | None = Field(default=None, description="the key, for a signature")
    content_type: str
    min_bytes: int = Field(ge=0, description="the smallest file S3 takes")
    max_bytes: int = Field(ge=0, description="the largest file S3 takes")
    expires_in: int = Field(ge=0, description="seconds the form is good for")


class RedriveOut(ViewReply):
    """What a redrive put back, and how many dead letters remain (notify/redrive.py)."""

    work: int = Field(ge=0, description="parked outbox work put back")
    stream_batches: int = Field(ge=0, description="failed stream batches read back")
    stream_messages: int = Field(ge=0, description="outbox messages those batches held")
    expired: int = Field(ge=0, description="batches the stream no longer holds (left parked)")
    unreadable: int = Field(ge=0, description="letters of no kind we write (left parked)")
    remaining: int = Field(ge=0, description="dead letters left (approximate)")


class Health(Reply):
    status: Literal["ok"] = "ok"


class OpenApiDocumentOut(ViewReply):
    """This API's OpenAPI 3.1 document (api/openapi/assembly.py), sent as it is built."""

    openapi: Literal["3.1.0"]
    info: dict[str, Any] = Field(description="title, version, description")
    servers: list[dict[str, Any]] = Field(description="the stage's public base URL")
    paths: dict[str, Any] = Field(description="every route's path item")
    components: dict[str, Any] = Field(description="schemas and security schemes")

    def body(self) -> dict[str, Any]:
        # Sent whole: the schemas' nulls (defaults, consts) are part of the document.
        return self.model_dump(mode="json")
