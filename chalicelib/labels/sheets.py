"""The label PDFs the API answers: an order's parcels for its merchant, a dispatch run's for the
depot in loading order (by route, the last stop loaded first). Sized for a Lambda's answer.
The drawing is the LabelRenderer's (in AWS the label renderer function, labels/renderer.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from chalicelib.domain.dispatch import PlannedRoute, Run
from chalicelib.domain.errors import (
    DispatchRunNotFound,
    NoLabels,
    OrderNotFound,
    PayloadTooLarge,
    RouteNotFound,
)
from chalicelib.domain.order import Order, TimelineEvent, labelled, labels_of
from chalicelib.domain.tenancy import Depot
from chalicelib.labels.faces import MAX_PDF_BYTES, LabelFace, pdf_too_large

# A Lambda's answer holds 6 MB, base64 (a third more) of the PDF's bytes (MAX_PDF_BYTES, in
# labels/faces.py): about 2 KB a label keeps 500 far inside it, and drawn in a few seconds.
# A bigger run is asked for route by route.
MAX_LABELS = 500
# Stops whose order no longer rides on the route, and the depot's own retrievals: no label.
NOT_LOADED_STATES = ("cancelled", "dropped")


class OrderStore(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def get_many(self, order_ids: Sequence[str]) -> dict[str, Order]: ...

    def save(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        expected_version: int,
        new_labels: Sequence[str] = (),
    ) -> None: ...


class LabelRenderer(Protocol):
    def render(self, faces: Sequence[LabelFace]) -> bytes:
        """The PDF of `faces`, one page each, in the order given; PayloadTooLarge past
        MAX_PDF_BYTES, ServiceBusy or UpstreamFailed when it cannot be drawn now."""
        ...


class RouteStore(Protocol):
    def get_route(self, route_id: str) -> PlannedRoute | None: ...

    def run_with_results(
        self, run_id: str
    ) -> tuple[Run, list[PlannedRoute], dict[str, str]] | None: ...


class LabelSheets:
    def __init__(
        self,
        orders: OrderStore,
        routes: RouteStore,
        depot: Callable[[str], Depot],
        renderer: LabelRenderer,
    ) -> None:
        self._orders = orders
        self._routes = routes
        self._depot = depot  # DepotNotFound for an unknown one
        self._renderer = renderer

    def for_order(self, merchant_id: str, order_id: str) -> bytes:
        """The PDF of the merchant's order's labels, one page a parcel."""
        order = self._orders.get(order_id)
        if order is None or order.merchant_id != merchant_id:
            raise OrderNotFound(f"no order {order_id}")
        order = self._labelled(order)
        route = self._routes.get_route(order.route_id) if order.route_id else None
        stop_no = _stop_numbers(route).get(order.order_id) if route else None
        depot = self._depot(order.depot_id)
        return self._pdf(_faces(order, depot, route if stop_no else None, stop_no))

    def for_run(self, depot_id: str, run_id: str, route_id: str | None = None) -> bytes:
        """The PDF of a run's labels (or one route's), by route, the last stop first: the
        order a van is loaded in."""
        depot = self._depot(depot_id)
        found = self._routes.run_with_results(run_id)
        if found is None or found[0].depot_id != depot_id:
            raise DispatchRunNotFound(f"no dispatch run {run_id} at depot {depot_id}")
        routes = sorted(found[1], key=lambda r: r.route_id)
        if route_id is not None:
            routes = [r for r in routes if r.route_id == route_id]
            if not routes:
                raise RouteNotFound(f"no route {route_id} in run {run_id}", field="route_id")
        wanted = [
            (route, stop.order_id)
            for route in routes
            for stop in reversed(route.stops)
            if stop.kind != "retrieval" and stop.state not in NOT_LOADED_STATES
        ]
        orders = self._orders.get_many([order_id for _, order_id in wanted])
        count = sum(len(orders[o].parcels) for _, o in wanted if o in orders)
        if count > MAX_LABELS:
            raise PayloadTooLarge(
                f"run {run_id} has {count} labels, more than the {MAX_LABELS} one answer holds: "
                "ask for them route by route (?route_id=)",
                field="route_id",
            )
        faces: list[LabelFace] = []
        for route, order_id in wanted:
            order = orders.get(order_id)
            if order is None or order.route_id != route.route_id:
                continue  # it left this route after the run (released, re-planned)
            order = self._labelled(order)
            faces += _faces(order, depot, route, _stop_numbers(route)[order_id])
        return self._pdf(faces)

    def _pdf(self, faces: list[LabelFace]) -> bytes:
        if not faces:
            raise NoLabels("no parcel to print a label for (no stop whose order is still on it)")
        pdf = self._renderer.render(faces)
        if len(pdf) > MAX_PDF_BYTES:  # the renderer's own limit, whichever renderer it is
            raise pdf_too_large(len(pdf))
        return pdf

    def _labelled(self, order: Order) -> Order:
        """The order with a label on every parcel: one stored before parcels had labels gets
        them now (kept from then on, their lookups written with them)."""
        if all(p.label for p in order.parcels):
            return order
        fresh = replace(
            order, parcels=labelled(order.parcels, keep=order.parcels), version=order.version + 1
        )
        had = set(labels_of(order))
        self._orders.save(
            fresh,
            [],
            expected_version=order.version,
            new_labels=[label for label in labels_of(fresh) if label not in had],
        )
        return fresh


def _stop_numbers(route: PlannedRoute) -> dict[str, int]:
    """Each order's stop number on its route, from 1, in the planned order of visits."""
    return {stop.order_id: n for n, stop in enumerate(route.stops, start=1)}


def _faces(
    order: Order, depot: Depot, route: PlannedRoute | None, stop_no: int | None
) -> list[LabelFace]:
    address = order.address
    lines = tuple(
        line
        for line in (
            address.line1,
            address.line2,
            f"{address.city} {address.postcode}",
            address.country,
        )
        if line
    )
    return [
        LabelFace(
            label=parcel.label or "",
            parcel_no=n,
            parcels=len(order.parcels),
            tracking_code=order.tracking_code,
            depot=depot.name,
            name=order.customer.name,
            address_lines=lines,
            route=route.vehicle_id if route else None,
            stop_no=stop_no,
            weight_kg=parcel.weight_kg,
        )
        for n, parcel in enumerate(order.parcels, start=1)
    ]
