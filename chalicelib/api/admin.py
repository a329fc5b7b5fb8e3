"""Operator API (admin key): merchants and depots."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.api.http import bearer, json_response, parse_body, pdf_response, raw_body, route
from chalicelib.api.paging import ListQuery, asked_page, list_query
from chalicelib.api.replies import (
    DepotCreated,
    DepotOut,
    DepotsPage,
    DispatchPolicyOut,
    DispatchRunOut,
    DispatchRunsPage,
    DispatchStarted,
    FleetOut,
    MerchantCreated,
    MerchantOut,
    MerchantsPage,
    RunSummaryOut,
    SecretRotated,
)
from chalicelib.api.stock import FulfilmentIn
from chalicelib.dispatch.workflow import MAX_SOLVER_TIME_LIMIT_S
from chalicelib.domain.dispatch import MAX_ORDERS_PER_RUN
from chalicelib.domain.errors import MalformedBody, ValidationFailed
from chalicelib.domain.tenancy import ShiftBreak, Vehicle
from chalicelib.reconcile.connections import check_connection
from chalicelib.request_bodies import Id, Moment, parse_json

admin = Blueprint(__name__)

MAX_QUERY_ID = 128  # no id of ours is longer (a run's, a route's)
MAX_SERVING_DEPOTS = 20  # an order's allocation reads each of them


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MerchantIn(_In):
    name: str = Field(min_length=1, max_length=200)
    depot_id: Id
    shopify_secret: str | None = Field(default=None, min_length=8, max_length=256)
    woocommerce_secret: str | None = Field(default=None, min_length=8, max_length=256)
    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9]{1,64}$")
    depot_ids: list[Id] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SERVING_DEPOTS,
        description="every depot that may fulfil its orders (depot_id is the first of them)",
    )


class SecretRotationIn(_In):
    platform: Literal["shopify", "woocommerce"]
    secret: str = Field(min_length=8, max_length=256)


class RollingIn(_In):
    every_minutes: int = Field(ge=5, le=1440)
    min_orders: int = Field(default=1, ge=1, le=100_000)


class WeightsIn(_In):
    fixed_cost: float = Field(default=0.0, ge=0, le=1_000_000)
    cost_per_km: float = Field(default=1.0, ge=0, le=1_000_000)
    cost_per_hour: float = Field(default=0.0, ge=0, le=1_000_000)


class DispatchPolicyIn(_In):
    """When the depot plans: waves at local cut-off times and/or a rolling window (neither:
    only on demand); how far ahead; how long the solver may think; what a route costs."""

    waves: list[str] = Field(default_factory=list, max_length=48)
    rolling: RollingIn | None = None
    horizon_hours: float = Field(default=12.0, ge=1, le=168)
    time_limit_s: int = Field(default=60, ge=5, le=MAX_SOLVER_TIME_LIMIT_S)
    weights: WeightsIn = Field(default_factory=WeightsIn)
    max_orders_per_run: int = Field(
        default=MAX_ORDERS_PER_RUN,
        ge=1,
        le=20_000,
        description="orders one run claims (new before passed-over ones, oldest first); the "
        "rest wait for the next run",
    )
    insert_into_live_routes: bool = Field(
        default=False,
        description="a run may insert new orders into routes already on the road (loaded at "
        "the depot on a detour the van's shift and every carried order's promised window take)",
    )

    @model_validator(mode="after")
    def _waves_are_times(self) -> DispatchPolicyIn:
        for index, wave in enumerate(self.waves):
            if not WAVE.match(wave):
                raise ValueError(f"waves.{index}: {wave!r} is not a time of day HH:MM")
        if len(set(self.waves)) != len(self.waves):
            raise ValueError("waves: each cut-off time once")
        return self


WAVE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class DepotIn(_In):
    depot_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    timezone: str = Field(min_length=1, max_length=64)
    dispatch: DispatchPolicyIn = Field(default_factory=DispatchPolicyIn)
    fulfilment: FulfilmentIn | None = None

    def to_new(self) -> NewDepot:
        fields = self.model_dump(exclude={"fulfilment"})
        return NewDepot(**fields, fulfilment=self.fulfilment.stored() if self.fulfilment else None)


MAX_FLEET = 500
MAX_TRIPS = 10
Skill = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,16}$")]


class CapacityIn(_In):
    parcels: int = Field(ge=1, le=10_000)
    weight_kg: float = Field(gt=0, le=50_000)


class BreakIn(_In):
    """A driver's break, to start between `earliest` and `latest`, lasting `minutes`."""

    earliest: Moment
    latest: Moment
    minutes: int = Field(ge=1, le=240)


class ShiftIn(_In):
    start: Moment
    end: Moment
    breaks: list[BreakIn] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _ends_after_start(self) -> ShiftIn:
        if self.end <= self.start:
            raise ValueError("end: a shift ends after its start")
        for index, brk in enumerate(self.breaks):
            if brk.latest < brk.earliest:
                raise ValueError(f"breaks.{index}.latest: not before its earliest")
            if brk.earliest < self.start or brk.latest > self.end:
                raise ValueError(f"breaks.{index}: a break starts within its shift")
        return self


class VehicleIn(_In):
    vehicle_id: Id
    profile: Literal["van", "electric_van", "cargo_bike", "on_foot", "drone"]
    capacity: CapacityIn
    shift: ShiftIn
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    max_trips: int = Field(
        default=1,
        ge=1,
        le=MAX_TRIPS,
        description="trips one shift may hold, back at the depot to reload between them",
    )
    reload_minutes: int = Field(
        default=10, ge=0, le=240, description="how long a reload at the depot takes"
    )

    def to_vehicle(self) -> Vehicle:
        return Vehicle(
            vehicle_id=self.vehicle_id,
            profile=self.profile,
            capacity_parcels=self.capacity.parcels,
            capacity_weight_kg=self.capacity.weight_kg,
            shift_start=self.shift.start.isoformat(),
            shift_end=self.shift.end.isoformat(),
            skills=tuple(self.skills),
            breaks=tuple(
                ShiftBreak(b.earliest.isoformat(), b.latest.isoformat(), b.minutes * 60.0)
                for b in self.shift.breaks
            ),
            max_trips=self.max_trips,
            reload_s=self.reload_minutes * 60.0,
        )


class FleetIn(_In):
    # The fleet is one item (read whole by each run): 500 of the largest vehicles fit its 400 KB.
    vehicles: list[VehicleIn] = Field(max_length=MAX_FLEET)


def _authorise() -> None:
    bootstrap.accounts().authenticate_admin(bearer(admin.current_request))


@route(admin, "/v1/merchants", methods=["POST"])
def create_merchant() -> Any:
    _authorise()
    body = parse_body(admin.current_request, MerchantIn)
    merchant, creds = bootstrap.accounts().create_merchant(NewMerchant(**body.model_dump()))
    created = MerchantCreated(
        merchant_id=merchant.merchant_id,
        api_key=creds.api_key,
        webhook_secret=creds.webhook_secret,
    )
    return json_response(created.body(), status=201)


@route(admin, "/v1/merchants/{merchant_id}/webhook-secrets", methods=["POST"])
def rotate_webhook_secret(merchant_id: str) -> Any:
    _authorise()
    body = parse_body(admin.current_request, SecretRotationIn)
    bootstrap.accounts().rotate_secret(merchant_id, body.platform, body.secret)
    return json_response(SecretRotated(merchant_id=merchant_id, platform=body.platform).body())


@route(admin, "/v1/depots", methods=["POST"])
def create_depot() -> Any:
    _authorise()
    body = parse_body(admin.current_request, DepotIn)
    depot = bootstrap.accounts().create_depot(body.to_new())
    return json_response(DepotCreated(depot_id=depot.depot_id).body(), status=201)


@route(admin, "/v1/depots/{depot_id}/dispatch-policy", methods=["PUT"])
def put_dispatch_policy(depot_id: str) -> Any:
    """Replace the depot's dispatch policy; its schedules follow at once."""
    _authorise()
    body = parse_body(admin.current_request, DispatchPolicyIn)
    depot = bootstrap.accounts().set_dispatch_policy(depot_id, body.model_dump())
    return json_response(DispatchPolicyOut.of(depot).body())


@route(admin, "/v1/depots/{depot_id}/dispatch-policy", methods=["GET"])
def get_dispatch_policy(depot_id: str) -> Any:
    _authorise()
    return json_response(DispatchPolicyOut.of(bootstrap.accounts().depot(depot_id)).body())


OPERATOR = "operator"  # whose the operator's lists are (a cursor is sealed to its owner)


@route(admin, "/v1/depots", methods=["GET"])
def list_depots() -> Any:
    _authorise()
    query = list_query(admin.current_request, ListQuery)
    depots, cursor = asked_page(query, "depots", OPERATOR, bootstrap.accounts().depots_page)
    return json_response(
        DepotsPage(items=[DepotOut.of(d) for d in depots], next_cursor=cursor).body()
    )


@route(admin, "/v1/depots/{depot_id}", methods=["GET"])
def get_depot(depot_id: str) -> Any:
    _authorise()
    return json_response(DepotOut.of(bootstrap.accounts().depot(depot_id)).body())


@route(admin, "/v1/depots/{depot_id}/dispatch-runs", methods=["GET"])
def list_dispatch_runs(depot_id: str) -> Any:
    """The depot's dispatch runs, newest first."""
    _authorise()
    query = list_query(admin.current_request, ListQuery)
    runs, cursor = asked_page(
        query,
        f"runs:{depot_id}",
        OPERATOR,
        lambda *, limit, start: bootstrap.dispatch().runs_of_depot(
            depot_id, limit=limit, start=start
        ),
    )
    return json_response(
        DispatchRunsPage(items=[RunSummaryOut.of(r) for r in runs], next_cursor=cursor).body()
    )


@route(admin, "/v1/merchants", methods=["GET"])
def list_merchants() -> Any:
    _authorise()
    query = list_query(admin.current_request, ListQuery)
    accounts = bootstrap.accounts()
    merchants, cursor = asked_page(query, "merchants", OPERATOR, accounts.merchants_page)
    return json_response(
        MerchantsPage(items=[MerchantOut.of(m) for m in merchants], next_cursor=cursor).body()
    )


@route(admin, "/v1/merchants/{merchant_id}", methods=["GET"])
def get_merchant(merchant_id: str) -> Any:
    """A merchant's profile; its keys and secrets are shown once, at creation, never here."""
    _authorise()
    return json_response(MerchantOut.of(bootstrap.accounts().merchant(merchant_id)).body())


@route(admin, "/v1/depots/{depot_id}/vehicles", methods=["PUT"])
def put_vehicles(depot_id: str) -> Any:
    _authorise()
    body = parse_body(admin.current_request, FleetIn)
    fleet = bootstrap.accounts().set_fleet(depot_id, [v.to_vehicle() for v in body.vehicles])
    return json_response(FleetOut.of(depot_id, fleet).body())


@route(admin, "/v1/depots/{depot_id}/vehicles", methods=["GET"])
def get_vehicles(depot_id: str) -> Any:
    _authorise()
    return json_response(FleetOut.of(depot_id, bootstrap.accounts().fleet(depot_id)).body())


@route(admin, "/v1/merchants/{merchant_id}/connections/{platform}", methods=["PUT"])
def put_connection(merchant_id: str, platform: str) -> Any:
    """The platform API credentials catch-up pulls orders with; stored, never echoed."""
    _authorise()
    body = raw_body(admin.current_request)
    if not body.strip():
        raise MalformedBody("body: required (a JSON object)", field="body")
    credentials = check_connection(platform, parse_json(body))
    bootstrap.accounts().connect(merchant_id, platform, credentials)
    return Response(body="", status_code=204)


@route(admin, "/v1/depots/{depot_id}/dispatch", methods=["POST"])
def start_dispatch(depot_id: str) -> Any:
    """Start a dispatch run now; while one runs, the running one is answered."""
    _authorise()
    run_id, started = bootstrap.dispatch().start(depot_id)
    return json_response(DispatchStarted(run_id=run_id, started=started).body(), status=202)


@route(admin, "/v1/depots/{depot_id}/labels", methods=["GET"])
def run_labels(depot_id: str) -> Any:
    """A dispatch run's parcel labels (or one route's) in loading order: a PDF."""
    _authorise()
    params: dict[str, str] = dict(admin.current_request.query_params or {})
    run_id = params.get("run_id")
    if not run_id:
        raise ValidationFailed("run_id: required (the dispatch run to print)", field="run_id")
    route_id = params.get("route_id")
    for name, value in (("run_id", run_id), ("route_id", route_id)):
        if value is not None and len(value) > MAX_QUERY_ID:
            raise ValidationFailed(f"{name}: at most {MAX_QUERY_ID} characters", field=name)
    pdf = bootstrap.label_sheets().for_run(depot_id, run_id, route_id)
    return pdf_response(pdf, f"labels-{route_id or run_id}.pdf")


@route(admin, "/v1/dispatch-runs/{run_id}", methods=["GET"])
def get_dispatch_run(run_id: str) -> Any:
    _authorise()
    return json_response(DispatchRunOut.of_results(bootstrap.dispatch().run_results(run_id)).body())
