"""Label PDFs parsed back: rendered to images (pypdfium2) and their barcodes decoded
(zxing-cpp), their text read; a run's labels in loading order; labels that stay and are
unguessable."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace

import pypdfium2
import pytest
import zxingcpp

from chalicelib.domain.dispatch import PlannedRoute, RouteStop, Run, RunStatus
from chalicelib.domain.errors import DispatchRunNotFound, OrderNotFound, PayloadTooLarge
from chalicelib.domain.order import (
    Address,
    Customer,
    Order,
    OrderDraft,
    Parcel,
    TimelineEvent,
    labels_of,
    receive,
    revise,
)
from chalicelib.domain.tenancy import Depot
from chalicelib.labels import sheets
from chalicelib.labels.lambda_renderer import LambdaLabelRenderer
from chalicelib.labels.sheets import LabelSheets
from tests.unit.labels.lambda_fake import FakeLambda

DEPOT = Depot("dep_1", "Southwark depot", 51.5, -0.1, "Europe/London", "2026-01-01T00:00:00Z")


class Orders:
    """The orders store as the label sheets use it, in memory, recording what it saved."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = {o.order_id: o for o in orders}
        self.saved: list[tuple[Order, list[str]]] = []

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def get_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        return {i: self.orders[i] for i in order_ids if i in self.orders}

    def save(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        expected_version: int,
        new_labels: Sequence[str] = (),
    ) -> None:
        assert self.orders[order.order_id].version == expected_version
        self.orders[order.order_id] = order
        self.saved.append((order, list(new_labels)))


class Routes:
    def __init__(self, run: Run, routes: list[PlannedRoute]) -> None:
        self.run, self.routes = run, routes

    def get_route(self, route_id: str) -> PlannedRoute | None:
        return next((r for r in self.routes if r.route_id == route_id), None)

    def run_with_results(self, run_id: str) -> tuple[Run, list[PlannedRoute], dict[str, str]]:
        if run_id != self.run.run_id:
            return None  # type: ignore[return-value]
        return self.run, self.routes, {}


def renderer() -> LambdaLabelRenderer:
    """The renderer function's real handler behind its adapter, JSON both ways."""
    fake = FakeLambda()
    return LambdaLabelRenderer(fake, fake.function_name)


def an_order(name: str, parcels: int, route_id: str | None = None) -> Order:
    draft = OrderDraft(
        external_id=name,
        customer=Customer(f"{name} Lovelace"),
        address=Address("1 Tower Bridge Rd", "London", "SE1 2UP", "GB", lat=51.5, lng=-0.07),
        parcels=tuple(Parcel(1.0 + n) for n in range(parcels)),
    )
    order, _ = receive(draft, merchant_id="mer_1", depot_id="dep_1", source="api")
    return replace(order, route_id=route_id)


def a_route(route_id: str, vehicle: str, orders: list[Order]) -> PlannedRoute:
    stops = tuple(
        RouteStop(o.order_id, "delivery", "2026-01-01T10:00:00Z", 51.5, -0.07, 60) for o in orders
    )
    return PlannedRoute(
        route_id, "run_1", "dep_1", vehicle, "van", "2026-01-01T09:00:00Z", 51.5, -0.1, 0, 0, stops
    )


def pages(pdf: bytes) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each page's text and the barcodes (format, value) decoded from its image."""
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    read = []
    for page in document:
        text = page.get_textpage().get_text_bounded()
        image = page.render(scale=3).to_pil()
        codes = sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(image))
        read.append((text, codes))
    return read


def test_an_orders_labels_read_back_page_by_page() -> None:
    order = an_order("Ada", parcels=2, route_id="rte_1_000")
    other = an_order("Bob", parcels=1, route_id="rte_1_000")
    route = a_route("rte_1_000", "van-7", [other, order])
    labels = LabelSheets(
        Orders([order, other]),
        Routes(Run("run_1", "dep_1", RunStatus.SUCCEEDED, "api", "t"), [route]),
        lambda _: DEPOT,
        renderer(),
    )

    read = pages(labels.for_order("mer_1", order.order_id))

    assert len(read) == 2, "one page a parcel"
    for n, ((text, codes), label) in enumerate(zip(read, labels_of(order), strict=True), 1):
        assert f"parcel {n} of 2" in text
        assert order.tracking_code in text
        assert "Ada Lovelace" in text and "1 Tower Bridge Rd" in text and "SE1 2UP" in text
        assert "Southwark depot" in text
        assert "van-7 · stop 2" in text, "its route and stop number once planned"
        assert codes == [("Code128", label), ("QRCode", label)]


def test_another_merchants_order_has_no_labels_to_print() -> None:
    order = an_order("Ada", parcels=1)
    labels = LabelSheets(
        Orders([order]),
        Routes(Run("run_1", "dep_1", RunStatus.SUCCEEDED, "api", "t"), []),
        lambda _: DEPOT,
        renderer(),
    )
    with pytest.raises(OrderNotFound):
        labels.for_order("mer_other", order.order_id)
    [(text, _)] = pages(labels.for_order("mer_1", order.order_id))
    assert "not yet planned" in text


def test_a_runs_labels_come_by_route_then_last_stop_first() -> None:
    first = [an_order(f"A{n}", parcels=1 + n % 2, route_id="rte_1_000") for n in range(3)]
    second = [an_order(f"B{n}", parcels=1, route_id="rte_1_001") for n in range(2)]
    gone = an_order("Gone", parcels=1, route_id="rte_9_000")  # re-planned elsewhere since
    routes = [a_route("rte_1_001", "van-2", second), a_route("rte_1_000", "van-1", [*first, gone])]
    run = Run("run_1", "dep_1", RunStatus.SUCCEEDED, "api", "t")
    labels = LabelSheets(
        Orders([*first, *second, gone]), Routes(run, routes), lambda _: DEPOT, renderer()
    )

    read = pages(labels.for_run("dep_1", "run_1"))

    loading = [o for o in reversed(first)] + [o for o in reversed(second)]
    expected = [label for o in loading for label in labels_of(o)]
    assert [dict(codes)["Code128"] for _, codes in read] == expected
    stops = [re.findall(r"(van-\d) · stop (\d)", text)[0] for text, _ in read]
    # A2 (one parcel), A1 (two), A0 (one), then van-2's; the stop that left is not printed.
    van_1 = [("van-1", "3"), ("van-1", "2"), ("van-1", "2"), ("van-1", "1")]
    assert stops == [*van_1, ("van-2", "2"), ("van-2", "1")]
    only = pages(labels.for_run("dep_1", "run_1", route_id="rte_1_001"))
    assert [dict(codes)["Code128"] for _, codes in only] == expected[-2:]
    with pytest.raises(DispatchRunNotFound):
        labels.for_run("dep_other", "run_1")


def test_a_run_past_what_one_answer_holds_is_asked_route_by_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sheets, "MAX_LABELS", 3)
    orders = [an_order(f"A{n}", parcels=2, route_id="rte_1_000") for n in range(2)]
    run = Run("run_1", "dep_1", RunStatus.SUCCEEDED, "api", "t")
    labels = LabelSheets(
        Orders(orders),
        Routes(run, [a_route("rte_1_000", "van-1", orders)]),
        lambda _: DEPOT,
        renderer(),
    )
    with pytest.raises(PayloadTooLarge, match="route_id"):
        labels.for_run("dep_1", "run_1")


def test_an_order_stored_before_labels_gets_them_once_and_keeps_them() -> None:
    order = an_order("Old", parcels=2)
    unlabelled = replace(order, parcels=tuple(replace(p, label=None) for p in order.parcels))
    store = Orders([unlabelled])
    labels = LabelSheets(
        store,
        Routes(Run("run_1", "dep_1", RunStatus.SUCCEEDED, "api", "t"), []),
        lambda _: DEPOT,
        renderer(),
    )

    first = [dict(c)["Code128"] for _, c in pages(labels.for_order("mer_1", order.order_id))]
    again = [dict(c)["Code128"] for _, c in pages(labels.for_order("mer_1", order.order_id))]

    assert first == again and len(set(first)) == 2
    [(saved, new_labels)] = store.saved
    assert new_labels == first and labels_of(saved) == tuple(first)


def test_labels_are_unguessable_and_survive_a_storefronts_update() -> None:
    order = an_order("Ada", parcels=2)
    assert all(re.fullmatch(r"LM[A-Z2-7]{16}", label) for label in labels_of(order))
    assert len({label for _ in range(50) for label in labels_of(an_order("x", 2))}) == 100
    more = OrderDraft(
        order.external_id, order.customer, order.address, (Parcel(1.0), Parcel(2.0), Parcel(3.0))
    )
    revised = revise(order, more, source_updated_at=None, at="2026-01-01T00:00:00Z")
    assert labels_of(revised)[:2] == labels_of(order), "printed labels stay"
    assert labels_of(revised)[2] not in labels_of(order)
