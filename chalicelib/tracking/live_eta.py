"""One ETA for an order, wherever it is shown: the one it was last told, with the window told
with it. The route item keeps each stop's live ETA (re-timed by every ping) and what its order
was told (`told_eta`); a live ETA is told, and written on the order with its window, once it
moves far enough or a message goes out (dispatch/eta.py). Page, API, messages and webhooks show
the told one, so they never disagree by the minutes a ping moved the live one."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.eta_windows import Told
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order
from chalicelib.domain.times import parse_iso

# The ETA means something only while the parcel is still on its way.
ON_ITS_WAY = frozenset({OrderStatus.PLANNED, OrderStatus.OUT_FOR_DELIVERY})


class RouteLookup(Protocol):
    def get_route(self, route_id: str) -> PlannedRoute | None: ...


def stop_eta(route: PlannedRoute, order_id: str) -> str | None:
    """The ETA the order's stop was last told, while it is pending on `route`."""
    stop = next((s for s in route.stops if s.order_id == order_id), None)
    return stop.order_eta if stop is not None and stop.state == "pending" else None


def with_route_eta(order: Order, route: PlannedRoute | None) -> Order:
    """The order showing the ETA its stop was last told when `route` is its route and the stop
    waits (the same as the order item's once its write lands; a window recorded for another
    ETA is not shown with this one: its own is, never opening before the van leaves)."""
    if route is None or order.status not in ON_ITS_WAY or order.route_id != route.route_id:
        return order
    told = stop_eta(route, order.order_id)
    if not told or told == order.eta:
        return order
    window = Told.around(told, parse_iso(route.start_at))
    return replace(order, eta=told, eta_from=window.start, eta_to=window.end)


def with_live_eta(order: Order, routes: RouteLookup) -> Order:
    """The order showing the ETA it has now (one route read while it is on its way)."""
    if order.status not in ON_ITS_WAY or not order.route_id:
        return order
    return with_route_eta(order, routes.get_route(order.route_id))
