"""Which live ETAs are written on the orders: only those that moved far enough from what the
order holds, or that its customer is being told; the route item remembers what each holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.dispatch.eta import published, soonest, told
from chalicelib.domain.dispatch import Fix, PlannedRoute, RouteStop
from chalicelib.domain.times import iso_z

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return iso_z(NOW + timedelta(minutes=minutes))


def a_route(*etas: float) -> PlannedRoute:
    stops = tuple(
        RouteStop(f"ord_{n}", "delivery", at(m), 51.5, -0.1, 60.0) for n, m in enumerate(etas)
    )
    return PlannedRoute("rte_a_000", "run_a", "d", "v", "van", at(0), 51.5, -0.1, 0, 0, stops)


def moved(route: PlannedRoute, by: float) -> PlannedRoute:
    return replace(
        route,
        stops=tuple(
            replace(s, eta=iso_z(datetime.fromisoformat(s.eta) + timedelta(minutes=by)))
            for s in route.stops
        ),
    )


def test_small_moves_stay_on_the_route_and_add_up_until_they_are_written() -> None:
    before = a_route(20, 300)
    after, writes = published(before, moved(before, 4), NOW)
    assert writes == {}
    assert [s.order_eta for s in after.stops] == [at(20), at(300)], "the orders hold the old"
    assert [s.eta for s in after.stops] == [at(24), at(304)], "the route holds the live"

    again, writes = published(after, moved(after, 2), NOW)
    assert {k: t.eta for k, t in writes.items()} == {"ord_0": at(26)}, (
        "6 minutes from what the order holds"
    )
    assert again.stops[0].told_eta is None and again.stops[0].order_eta == at(26)
    assert again.stops[1].order_eta == at(300), "5 hours out, 6 minutes is within a tenth"


def test_a_far_stop_is_written_past_a_tenth_of_the_time_to_go_and_a_told_one_always() -> None:
    before = a_route(300)
    _, writes = published(before, moved(before, 30), NOW)
    assert writes == {}, "within a tenth of 5.5 hours"
    _, writes = published(before, moved(before, 40), NOW)
    assert {k: t.eta for k, t in writes.items()} == {"ord_0": at(340)}
    _, told = published(before, moved(before, 1), NOW, frozenset({"ord_0"}))
    assert {k: t.eta for k, t in told.items()} == {"ord_0": at(301)}


def test_stops_no_longer_pending_are_never_written() -> None:
    before = a_route(20)
    gone = replace(before, stops=(replace(before.stops[0], state="cancelled"),))
    _, writes = published(gone, moved(gone, 30), NOW)
    assert writes == {}


def test_a_told_window_never_opens_before_the_van_can_be_there() -> None:
    # A stop 3 km out, due in 10 minutes: ETA minus half an hour is in the past.
    route = a_route(10)
    stop = replace(route.stops[0], lat=51.527)
    route = replace(route, stops=(stop,))
    window = told(route, stop, NOW)
    drive = soonest(route, stop, NOW)
    assert drive > NOW + timedelta(minutes=3), "3 km takes minutes"
    assert (window.eta, window.end) == (at(10), at(40))
    assert window.start == iso_z(drive) and window.start > at(0)


def test_a_told_window_waits_for_the_departure_and_starts_from_the_vans_last_fix() -> None:
    stop = RouteStop("ord_0", "delivery", at(70), 51.5, -0.1, 60.0)
    later = replace(a_route(70), start_at=at(60), stops=(stop,))
    assert told(later, stop, NOW).start == at(60), "not before the van leaves the depot"
    away = replace(stop, eta=at(100))
    far = replace(a_route(100), stops=(away,), last_fix=Fix(51.75, -0.1, at(0), at(0)))
    # 28 km away at 10:00: the window opens when the van could be there, not at 11:10.
    assert soonest(far, away, NOW) > NOW + timedelta(minutes=70)
    assert told(far, away, NOW).start == iso_z(soonest(far, away, NOW))


def test_published_tells_each_written_order_its_window() -> None:
    before = a_route(60)
    _, writes = published(before, moved(before, 20), NOW)
    assert (writes["ord_0"].start, writes["ord_0"].end) == (at(50), at(110))
