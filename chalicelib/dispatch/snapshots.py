"""A run's documents in S3 as the later steps read them: the orders and locker retrievals it
claimed, its routing problems and plans, and what building the problems decided."""

from __future__ import annotations

from datetime import datetime

from chalicelib.dispatch.live_routes import LiveRoute
from chalicelib.domain.lockers import LockerParcel
from chalicelib.domain.order import Order, order_as_json, order_from_json
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing.model import Plan, Problem
from chalicelib.store.artifacts import (
    ArtifactMissing,
    Artifacts,
    orders_key,
    plan_key,
    problem_key,
    retrievals_key,
)


def _build_key(run_id: str) -> str:
    return f"runs/{run_id}/build.json"


class RunSnapshots:
    def __init__(self, artifacts: Artifacts) -> None:
        self._artifacts = artifacts

    def put_orders(self, run_id: str, orders: list[Order]) -> None:
        self._artifacts.put_json(orders_key(run_id), [order_as_json(o) for o in orders])

    def orders(self, run_id: str) -> list[Order]:
        """The orders the run claimed; ArtifactMissing if it failed before its snapshot."""
        return [order_from_json(d) for d in self._artifacts.get_json(orders_key(run_id))]

    def put_retrievals(self, run_id: str, parcels: list[LockerParcel]) -> None:
        self._artifacts.put_json(retrievals_key(run_id), [p.to_dict() for p in parcels])

    def retrievals(self, run_id: str) -> list[LockerParcel]:
        try:
            found = self._artifacts.get_json(retrievals_key(run_id))
        except ArtifactMissing:
            return []  # a run collected before lockers existed
        return [LockerParcel.from_dict(d) for d in found]

    def put_build(
        self,
        run_id: str,
        t0: datetime,
        left_out: dict[str, str],
        held: frozenset[str] = frozenset(),
        live: tuple[LiveRoute, ...] = (),
    ) -> None:
        self._artifacts.put_json(
            _build_key(run_id),
            {
                "t0": iso_z(t0),
                "left_out": left_out,
                "held": sorted(held),
                "live": [route.to_dict() for route in live],
            },
        )

    def build(self, run_id: str) -> tuple[datetime, dict[str, str]]:
        """The problem's start time and the orders building it left out (id -> reason)."""
        built = self._artifacts.get_json(_build_key(run_id))
        return parse_iso(built["t0"]), dict(built["left_out"])

    def held(self, run_id: str) -> frozenset[str]:
        """The vehicles routes of earlier runs held (some or all of their time) in this run."""
        return frozenset(self._artifacts.get_json(_build_key(run_id)).get("held", ()))

    def live(self, run_id: str) -> list[LiveRoute]:
        """The routes on the road the run planned on (ArtifactMissing before its build)."""
        built = self._artifacts.get_json(_build_key(run_id))
        return [LiveRoute.from_dict(d) for d in built.get("live", ())]

    def put_problem(self, run_id: str, part: int, problem: Problem) -> str:
        """Write one part's problem; its key, for the state machine to pass to the solver."""
        return self._artifacts.put_json(problem_key(run_id, part), problem.to_dict())

    def problem(self, run_id: str, part: int) -> Problem:
        return Problem.from_dict(self._artifacts.get_json(problem_key(run_id, part)))

    def plan(self, run_id: str, part: int) -> Plan:
        return Plan.from_dict(self._artifacts.get_json(plan_key(run_id, part)))
