"""A route read back: the driver's app (its token) sees its stops in order, each with status,
live ETA and the address it drives to; the operator (the admin key) the same and where the
vehicle was last seen. A stop whose order has left the route shows no address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.dispatch.driver_tokens import PREFIX as DRIVER_TOKEN_PREFIX
from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.domain.dispatch import PlannedRoute, RouteStop
from chalicelib.domain.errors import RouteNotFound
from chalicelib.domain.order import Order


class RouteReads(Protocol):
    def get_route(self, route_id: str) -> PlannedRoute | None: ...

    def orders(self, order_ids: list[str]) -> dict[str, Order]: ...


class RouteViews:
    def __init__(
        self,
        routes: RouteReads,
        tokens: DriverTokens,
        authenticate_operator: Callable[[str | None], None],
    ) -> None:
        self._routes = routes
        self._tokens = tokens
        self._authenticate_operator = authenticate_operator

    def read(self, route_id: str, token: str | None) -> dict[str, Any]:
        """The route as its driver (a driver token, of this route only) or the operator sees
        it; AuthenticationFailed for any other credential, before anything is read."""
        operator = not (token or "").startswith(DRIVER_TOKEN_PREFIX)
        if operator:
            self._authenticate_operator(token)
        else:
            self._tokens.check(route_id, token)
        route = self._routes.get_route(route_id)
        if route is None:
            raise RouteNotFound(f"no route {route_id}")
        orders = self._routes.orders([s.order_id for s in route.stops])
        return route_view(route, orders, operator=operator)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StopAddress(_Part):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postcode: str | None = None


class RouteStopOut(_Part):
    order_id: str
    kind: Literal["delivery", "locker", "retrieval"]
    status: Literal["pending", "done", "cancelled", "dropped"]
    eta: str
    trip: int = Field(ge=1)
    lat: float
    lng: float
    locker_id: str | None = None
    address: StopAddress | None = Field(default=None, description="a delivery still on it")
    recipient: str | None = Field(default=None, description="whom to ask for (first name)")
    parcels: int | None = Field(default=None, ge=0)


class RouteTripOut(_Part):
    trip: int = Field(ge=1)
    depart_at: str
    return_at: str


class RoutePosition(_Part):
    lat: float
    lng: float
    at: str


class RouteOut(_Part):
    """A route read back (GET /v1/routes/{route_id}). Sent as set: `next_stop` null after the
    last stop, and for the operator `position` null before the first fix."""

    route_id: str
    run_id: str
    depot_id: str
    vehicle_id: str
    start_at: str
    version: int = Field(ge=1)
    stops: list[RouteStopOut]
    trips: list[RouteTripOut]
    on_trip: int = Field(ge=0)
    next_stop: str | None = Field(description="the first pending stop's order id")
    position: RoutePosition | None = Field(
        default=None, description="the operator's only: the vehicle's last fix"
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


def route_view(route: PlannedRoute, orders: dict[str, Order], *, operator: bool) -> dict[str, Any]:
    """The route's current stops in order, each with its trip (a live re-plan's depot visit
    starts a new one), and its trips; with the vehicle's last position for the operator."""
    stops = [_stop(stop, orders.get(stop.order_id), route.route_id) for stop in route.stops]
    view = RouteOut(
        route_id=route.route_id,
        run_id=route.run_id,
        depot_id=route.depot_id,
        vehicle_id=route.vehicle_id,
        start_at=route.start_at,
        version=route.version,
        stops=stops,
        trips=[
            RouteTripOut(trip=t.trip, depart_at=t.depart_at, return_at=t.return_at)
            for t in route.trip_list()
        ],
        on_trip=route.on_trip,
        next_stop=next((s.order_id for s in stops if s.status == "pending"), None),
    )
    if operator:
        fix = route.last_fix
        view.position = (
            RoutePosition(lat=fix.lat, lng=fix.lng, at=fix.received_at) if fix is not None else None
        )
    return view.body()


def _stop(stop: RouteStop, order: Order | None, route_id: str) -> RouteStopOut:
    view = RouteStopOut(
        order_id=stop.order_id,
        kind=stop.kind,  # type: ignore[arg-type]
        status=stop.state,  # type: ignore[arg-type]
        eta=stop.eta,
        trip=stop.trip,
        lat=stop.lat,
        lng=stop.lng,
    )
    if stop.locker_id:
        view.locker_id = stop.locker_id
    if order is not None and order.route_id == route_id and stop.kind == "delivery":
        # What the driver needs at the door: where, and whom to ask for.
        address = order.address
        view.address = StopAddress(
            **{
                k: v
                for k, v in {
                    "line1": address.line1,
                    "line2": address.line2,
                    "city": address.city,
                    "postcode": address.postcode,
                }.items()
                if v
            }
        )
        view.recipient = order.customer.first_name or None
        view.parcels = len(order.parcels)
    return view
