"""A solved plan as the routes a run commits: the planner's visits as stops with their times."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.dispatch import PlannedRoute, RouteStop, RouteTrip, route_id_for
from chalicelib.domain.times import iso_z
from chalicelib.routing.model import Plan, Problem, Route

# Planner stop kinds as route stops: a pickup is an expired parcel taken back from a locker.
STOP_KINDS = {"delivery": "delivery", "locker": "locker", "pickup": "retrieval"}


def planned_routes(
    plan: Plan, problem: Problem, depot_id: str, run_id: str, first: int, t0: datetime
) -> list[PlannedRoute]:
    """The plan's routes as committed routes, numbered from `first`; ETAs as times (the start
    of service)."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    depot = problem.depots[0].location
    found = []
    for n, route in enumerate(r for r in plan.routes if r.stop_ids()):
        planned: list[RouteStop] = []
        trip_of = _trip_of_visit(route)
        for index, visit in enumerate(route.visits):
            if visit.kind == "drop":
                continue
            for k, stop_id in enumerate(visit.stop_ids):
                stop = stops[stop_id]
                last = k == len(visit.stop_ids) - 1
                planned.append(
                    RouteStop(
                        order_id=stop_id,
                        kind=STOP_KINDS.get(stop.kind, "delivery"),
                        eta=iso_z(t0 + timedelta(seconds=round(visit.start))),
                        planned_eta=iso_z(t0 + timedelta(seconds=round(visit.start))),
                        lat=stop.location.lat,
                        lng=stop.location.lon,
                        service_s=visit.departure - visit.start if last else 0.0,
                        earliest=iso_z(t0 + timedelta(seconds=stop.windows[0].start))
                        if stop.windows
                        else None,
                        locker_id=stop.locker_id,
                        trip=trip_of[index],
                    )
                )
        found.append(
            PlannedRoute(
                route_id=route_id_for(run_id, first + n),
                run_id=run_id,
                depot_id=depot_id,
                vehicle_id=route.vehicle_id,
                profile=vehicles[route.vehicle_id].profile.name,
                start_at=iso_z(t0 + timedelta(seconds=round(route.start))),
                depot_lat=depot.lat,
                depot_lng=depot.lon,
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                stops=tuple(planned),
                breaks_at=tuple(
                    iso_z(t0 + timedelta(seconds=round(b.start))) for b in route.breaks
                ),
                trips=_trips(route, t0),
                reload_s=vehicles[route.vehicle_id].reload_s if route.reloads else 0.0,
            )
        )
    return found


def _trip_of_visit(route: Route) -> list[int]:
    """Each visit's trip number (1 for a route without reloads)."""
    numbers = [1] * len(route.visits)
    for trip in route.trips():
        numbers[trip.first : trip.last] = [trip.number] * (trip.last - trip.first)
    return numbers


def _trips(route: Route, t0: datetime) -> tuple[RouteTrip, ...]:
    """A route of several trips: each trip's times (none for one trip, which reads as the
    route's own times)."""
    if not route.reloads:
        return ()
    return tuple(
        RouteTrip(
            trip.number,
            iso_z(t0 + timedelta(seconds=round(trip.depart))),
            iso_z(t0 + timedelta(seconds=round(trip.back))),
        )
        for trip in route.trips()
    )
