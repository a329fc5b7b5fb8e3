"""A route read back: the driver's app (its token) sees its stops in order, each with status,
live ETA and the address it drives to; the operator (the admin key) the same and where the
vehicle was last seen. A stop whose order has left the route shows no address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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


def route_view(route: PlannedRoute, orders: dict[str, Order], *, operator: bool) -> dict[str, Any]:
    """The route's current stops in order, each with its trip (a live re-plan's depot visit
    starts a new one), and its trips; with the vehicle's last position for the operator."""
    stops = [_stop(stop, orders.get(stop.order_id), route.route_id) for stop in route.stops]
    view: dict[str, Any] = {
        "route_id": route.route_id,
        "run_id": route.run_id,
        "depot_id": route.depot_id,
        "vehicle_id": route.vehicle_id,
        "start_at": route.start_at,
        "version": route.version,
        "stops": stops,
        "trips": [
            {"trip": t.trip, "depart_at": t.depart_at, "return_at": t.return_at}
            for t in route.trip_list()
        ],
        "on_trip": route.on_trip,
        "next_stop": next((s["order_id"] for s in stops if s["status"] == "pending"), None),
    }
    if operator:
        fix = route.last_fix
        view["position"] = (
            {"lat": fix.lat, "lng": fix.lng, "at": fix.received_at} if fix is not None else None
        )
    return view


def _stop(stop: RouteStop, order: Order | None, route_id: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "order_id": stop.order_id,
        "kind": stop.kind,
        "status": stop.state,
        "eta": stop.eta,
        "trip": stop.trip,
        "lat": stop.lat,
        "lng": stop.lng,
    }
    if stop.locker_id:
        view["locker_id"] = stop.locker_id
    if order is not None and order.route_id == route_id and stop.kind == "delivery":
        # What the driver needs at the door: where, and whom to ask for.
        address = order.address
        view["address"] = {
            k: v
            for k, v in {
                "line1": address.line1,
                "line2": address.line2,
                "city": address.city,
                "postcode": address.postcode,
            }.items()
            if v
        }
        view["recipient"] = order.customer.first_name or None
        view["parcels"] = len(order.parcels)
    return view
