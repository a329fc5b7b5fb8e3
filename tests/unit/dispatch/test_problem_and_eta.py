"""Building the planner's problem from a depot's orders, and re-timing a route a stop left."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.dispatch.eta import changed_etas, without_stop
from chalicelib.dispatch.problem import AFTER_HORIZON, LOCKER_UNKNOWN, WINDOW_PASSED, build
from chalicelib.dispatch.service import solver_time_limit
from chalicelib.domain.dispatch import DispatchPolicy, PlannedRoute, RouteStop
from chalicelib.domain.order import (
    Address,
    Customer,
    Delivery,
    DeliveryType,
    OrderDraft,
    Parcel,
    Window,
    receive,
)
from chalicelib.domain.tenancy import Depot, Vehicle

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DEPOT = Depot("dep_1", "Depot", 51.5, -0.1, "Europe/London", "2026-01-01T00:00:00Z")


def an_order(n: int, delivery: Delivery | None = None, lat: float = 51.51):
    draft = OrderDraft(
        external_id=str(n),
        customer=Customer("Ada Lovelace"),
        address=Address("1 Street", "London", "E1", "GB", lat=lat + n * 0.001, lng=-0.1),
        parcels=(Parcel(2.0), Parcel(1.5)),
        delivery=delivery or Delivery(),
    )
    order, _ = receive(draft, merchant_id="mer_1", depot_id="dep_1", source="api")
    return order


def window(start_h: float, end_h: float) -> Delivery:
    return Delivery(
        window=Window(
            (T0 + timedelta(hours=start_h)).isoformat(), (T0 + timedelta(hours=end_h)).isoformat()
        )
    )


def van(vehicle_id: str, start_h: float, end_h: float) -> Vehicle:
    return Vehicle(
        vehicle_id,
        "van",
        50,
        400.0,
        (T0 + timedelta(hours=start_h)).isoformat(),
        (T0 + timedelta(hours=end_h)).isoformat(),
    )


def test_orders_become_stops_in_seconds_from_the_run_start() -> None:
    orders = [
        an_order(1),
        an_order(2, window(2, 4)),
        an_order(3, window(-3, -1)),
        an_order(4, window(30, 32)),
        an_order(5, Delivery(type=DeliveryType.LOCKER, locker_id="lkr_1")),
    ]
    fleet = [van("early", -2, 6), van("gone", -10, -1), van("late", 10, 40)]
    policy = DispatchPolicy(horizon_hours=12, cost_per_km=2.0)

    built = build(DEPOT, fleet, orders, policy, T0)

    [part] = built.parts
    assert [s.id for s in part.stops] == [orders[0].order_id, orders[1].order_id]
    assert part.stops[0].demand.parcels == 2 and part.stops[0].demand.weight == 3.5
    assert [(w.start, w.end) for w in part.stops[1].windows] == [(7200.0, 14400.0)]
    assert {v.id: (v.shift.start, v.shift.end) for v in part.vehicles} == {
        "early": (0.0, 6 * 3600.0),
        "late": (10 * 3600.0, 12 * 3600.0),
    }
    assert all(v.cost_per_km == 2.0 for v in part.vehicles)
    assert built.left_out == {
        orders[2].order_id: WINDOW_PASSED,
        orders[3].order_id: AFTER_HORIZON,
        orders[4].order_id: LOCKER_UNKNOWN,
    }


def test_a_large_batch_is_split_with_the_fleet_shared_by_demand() -> None:
    orders = [an_order(n, lat=51.5 + (0.01 if n % 2 else -0.01)) for n in range(10)]
    fleet = [van(f"v{n}", 0, 8) for n in range(4)]

    built = build(DEPOT, fleet, orders, DispatchPolicy(), T0, part_max=5)

    assert [len(p.stops) for p in built.parts] == [5, 5]
    assert sorted(s.id for p in built.parts for s in p.stops) == sorted(o.order_id for o in orders)
    assert [len(p.vehicles) for p in built.parts] == [2, 2]


def route(*stops: RouteStop) -> PlannedRoute:
    return PlannedRoute(
        "rte_1_000", "run_1", "dep_1", "van-1", "van", "2026-11-23T08:00:00Z", 51.5, -0.1,
        1000.0, 3600.0, stops,
    )  # fmt: skip


def stop(order_id: str, eta: str, lat: float, earliest: str | None = None) -> RouteStop:
    return RouteStop(order_id, "delivery", eta, lat, -0.1, 120.0, earliest)


def test_later_stops_move_up_when_one_leaves_but_not_before_their_window() -> None:
    planned = route(
        stop("a", "2026-11-23T08:10:00Z", 51.52),
        stop("b", "2026-11-23T08:20:00Z", 51.54),
        stop("c", "2026-11-23T08:30:00Z", 51.56),
        stop("d", "2026-11-23T10:00:00Z", 51.57, earliest="2026-11-23T10:00:00Z"),
    )

    after = without_stop(planned, "a")

    assert [s.order_id for s in after.stops] == ["b", "c", "d"]
    moved = {k: told.eta for k, told in changed_etas(planned, after, T0).items()}
    assert set(moved) == {"b", "c"}
    assert moved["b"] < "2026-11-23T08:20:00Z" and moved["c"] < "2026-11-23T08:30:00Z"
    assert after.stops[2].eta == "2026-11-23T10:00:00Z", "never before the window opens"
    assert after.version == planned.version + 1
    assert without_stop(planned, "zz") is planned


def test_a_small_batch_gets_a_short_solve() -> None:
    policy = DispatchPolicy(time_limit_s=60)
    assert solver_time_limit(policy, 3) == 5
    assert solver_time_limit(policy, 300) == 30
    assert solver_time_limit(policy, 5000) == 60
    assert solver_time_limit(replace(policy, time_limit_s=10), 300) == 10


def test_a_failed_attempt_goes_back_to_ready_until_the_last_then_returns() -> None:
    from chalicelib.domain.lifecycle import OrderStatus
    from chalicelib.tracking.route_events import MAX_ATTEMPTS, _after_failure

    order = an_order(1)
    at = T0.isoformat()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        failed = replace(order, status=OrderStatus.FAILED_ATTEMPT, route_id="rte_1_000")
        order, step = _after_failure(failed, at)
        assert order.failed_attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert (order.status, step, order.route_id) == (OrderStatus.READY, "rescheduled", None)
    assert (order.status, step) == (OrderStatus.RETURNED, "returning")


def test_locker_orders_are_stops_at_their_locker_with_its_free_doors_and_hours() -> None:
    from chalicelib.dispatch.problem import LOCKER_CLOSED, LockerRoom
    from chalicelib.domain.lockers import Locker, LockerParcel, OpeningHours, ParcelState

    open_late = Locker(
        "lkr_a", "A", 51.52, -0.09, "dep_1", "2026-01-01T00:00:00Z",
        opening_hours=(OpeningHours(("mon",), "18:00", "20:00"),),
    )  # fmt: skip
    closed = Locker(
        "lkr_b", "B", 51.53, -0.09, "dep_1", "2026-01-01T00:00:00Z",
        opening_hours=(OpeningHours(("sun",), "09:00", "10:00"),),
    )  # fmt: skip
    to_a = an_order(1, Delivery(DeliveryType.LOCKER, "lkr_a"))
    to_b = an_order(2, Delivery(DeliveryType.LOCKER, "lkr_b"))
    expired = LockerParcel(
        "lkr_a", "ord_old", "dep_1", ("M1", "M2"), ParcelState.EXPIRED, "x", "y", "", ""
    )
    rooms = [LockerRoom(open_late, {"M": 3}), LockerRoom(closed, {"S": 1})]

    built = build(
        DEPOT, [van("v", 0, 12)], [to_a, to_b], DispatchPolicy(), T0, lockers=rooms,
        retrievals=[expired],
    )  # fmt: skip

    [part] = built.parts
    stop, pickup = part.stops
    assert (stop.kind, stop.locker_id, stop.parcel_sizes) == ("locker", "lkr_a", ("M", "M"))
    assert (stop.location.lat, stop.location.lon) == (51.52, -0.09), "at the locker, not home"
    # Monday 23 November 2026, 08:00 UTC: open 18:00-20:00 London time (GMT) that day.
    assert [(w.start, w.end) for w in stop.windows] == [(10 * 3600.0, 12 * 3600.0)]
    assert [(lk.id, lk.free) for lk in part.lockers] == [("lkr_a", {"M": 3})]
    assert (pickup.kind, pickup.id, pickup.demand.parcels) == ("pickup", "ord_old", 2)
    assert built.left_out == {to_b.order_id: LOCKER_CLOSED}
