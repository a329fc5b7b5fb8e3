"""One ETA for an order, wherever it is shown: while its stop waits on a route, the route item's
live ETA (re-timed by every ping); the order item's own copy trails it by a few minutes at most
and stands in when the order is on no route (dispatch/eta.py says when it is rewritten)."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order

# The ETA means something only while the parcel is still on its way.
ON_ITS_WAY = frozenset({OrderStatus.PLANNED, OrderStatus.OUT_FOR_DELIVERY})


class RouteLookup(Protocol):
    def get_route(self, route_id: str) -> PlannedRoute | None: ...


def stop_eta(route: PlannedRoute, order_id: str) -> str | None:
    """The live ETA of the order's stop, while it is pending on `route`."""
    stop = next((s for s in route.stops if s.order_id == order_id), None)
    return stop.eta if stop is not None and stop.state == "pending" else None


def with_route_eta(order: Order, route: PlannedRoute | None) -> Order:
    """The order showing its stop's live ETA when `route` is its route and the stop waits."""
    if route is None or order.status not in ON_ITS_WAY or order.route_id != route.route_id:
        return order
    live = stop_eta(route, order.order_id)
    return replace(order, eta=live) if live else order


def with_live_eta(order: Order, routes: RouteLookup) -> Order:
    """The order showing the ETA it has now (one route read while it is on its way)."""
    if order.status not in ON_ITS_WAY or not order.route_id:
        return order
    return with_route_eta(order, routes.get_route(order.route_id))
