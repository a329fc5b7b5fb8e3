"""The analytics API's answers: a period's summary by day, depot, merchant or vehicle, and one
CSV row per order. Operators see any depot or merchant; a merchant only its own orders."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.analytics.facts import NONE, Fact
from chalicelib.analytics.metrics import DEFINITIONS, GROUPINGS, Cell, metrics, summarise
from chalicelib.domain.errors import DepotNotFound, MerchantNotFound, ValidationFailed

MAX_SUMMARY_DAYS = 92  # a quarter: at most 92 days' partitions read per depot
# The CSV is one Lambda answer (6 MB at most): a month of one range, and at most this many
# orders (a row is under 400 bytes), else a clear 422 asking for a narrower range or a depot.
MAX_CSV_DAYS = 31
MAX_CSV_ROWS = 10_000

CSV_COLUMNS = (
    "order_id",
    "merchant_id",
    "depot_id",
    "day",
    "outcome",
    "received_at",
    "out_for_delivery_at",
    "delivered_at",
    "window_start",
    "window_end",
    "on_time",
    "in_full",
    "attempts",
    "first_attempt_success",
    "failed_reasons",
    "route_id",
    "vehicle_id",
    "vehicle_profile",
    "locker_id",
    "received_to_delivered_minutes",
    "service_minutes",
    "distance_km",
    "co2e_g",
    "collected_at",
    "expired_at",
    "returned_at",
    "cancelled_at",
    "rating",
)


class TooManyRows(ValidationFailed):
    code = "too_many_rows"


class FactReader(Protocol):
    def cells(
        self, days: Iterable[str], *, depot_id: str | None, merchant_id: str | None
    ) -> Iterator[Cell]: ...

    def facts_of_day(self, depot_id: str, day: str) -> Iterator[Fact]: ...


class Tenants(Protocol):
    def depot(self, depot_id: str) -> Any: ...

    def merchant(self, merchant_id: str) -> Any: ...


@dataclass(frozen=True)
class Viewer:
    """Who asks: the operator (merchant_id None) or one merchant."""

    merchant_id: str | None = None


def period(raw_from: str | None, raw_to: str | None, max_days: int) -> list[str]:
    """The days from..to (inclusive, YYYY-MM-DD, depot-local), at most `max_days`."""
    days: list[date] = []
    for name, raw in (("from", raw_from), ("to", raw_to)):
        try:
            days.append(date.fromisoformat(raw or ""))
        except ValueError as exc:
            raise ValidationFailed(f"{name}: a date, YYYY-MM-DD", field=name) from exc
    start, end = days
    if end < start:
        raise ValidationFailed("to: on or after from", field="to")
    count = (end - start).days + 1
    if count > max_days:
        raise ValidationFailed(f"to: at most {max_days} days from from (is {count})", field="to")
    return [(start + timedelta(days=n)).isoformat() for n in range(count)]


class AnalyticsService:
    def __init__(self, facts: FactReader, tenants: Tenants) -> None:
        self._facts = facts
        self._tenants = tenants

    def _scope(
        self, viewer: Viewer, depot_id: str | None, merchant_id: str | None
    ) -> tuple[str | None, str | None]:
        if viewer.merchant_id is not None:
            if merchant_id not in (None, viewer.merchant_id):
                raise MerchantNotFound(f"no merchant {merchant_id}", field="merchant_id")
            merchant_id = viewer.merchant_id
        elif merchant_id is not None:
            try:
                if _too_long(merchant_id):
                    raise MerchantNotFound(f"no merchant {merchant_id[:64]}...")
                self._tenants.merchant(merchant_id)
            except MerchantNotFound as exc:
                raise MerchantNotFound(exc.message, field="merchant_id") from exc
        if depot_id is not None:
            try:
                if _too_long(depot_id):
                    raise DepotNotFound(f"no depot {depot_id[:64]}...")
                self._tenants.depot(depot_id)
            except DepotNotFound as exc:
                raise DepotNotFound(exc.message, field="depot_id") from exc
        return depot_id, merchant_id

    def summary(
        self,
        viewer: Viewer,
        raw_from: str | None,
        raw_to: str | None,
        *,
        depot_id: str | None = None,
        merchant_id: str | None = None,
        group_by: str | None = None,
    ) -> dict[str, Any]:
        days = period(raw_from, raw_to, MAX_SUMMARY_DAYS)
        grouping = group_by or "day"
        if grouping not in GROUPINGS:
            raise ValidationFailed(f"group_by: one of {', '.join(GROUPINGS)}", field="group_by")
        depot_id, merchant_id = self._scope(viewer, depot_id, merchant_id)
        cells = self._facts.cells(days, depot_id=depot_id, merchant_id=merchant_id)
        groups = summarise(cells, grouping, merchant_view=merchant_id is not None)
        return {
            "from": days[0],
            "to": days[-1],
            "group_by": grouping,
            "depot_id": depot_id,
            "merchant_id": merchant_id,
            "groups": groups,
            "definitions": DEFINITIONS,
        }

    def orders_csv(
        self,
        viewer: Viewer,
        raw_from: str | None,
        raw_to: str | None,
        *,
        depot_id: str | None = None,
    ) -> str:
        """One row per order with a fact in the period (its facts folded into the row)."""
        days = period(raw_from, raw_to, MAX_CSV_DAYS)
        depot_id, merchant_id = self._scope(viewer, depot_id, None)
        depots = [depot_id] if depot_id else self._active_depots(days, merchant_id)
        by_order: dict[str, list[Fact]] = {}
        for depot in depots:
            for day in days:
                for fact in self._facts.facts_of_day(depot, day):
                    if fact.merchant_id == NONE:
                        continue  # a route's own facts
                    if merchant_id is not None and fact.merchant_id != merchant_id:
                        continue
                    by_order.setdefault(fact.subject, []).append(fact)
                    if len(by_order) > MAX_CSV_ROWS:
                        raise TooManyRows(
                            f"from: more than {MAX_CSV_ROWS} orders in the period; ask for "
                            "fewer days or one depot",
                            field="from",
                        )
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for order_id in sorted(by_order):
            writer.writerow(order_row(order_id, by_order[order_id]))
        return out.getvalue()

    def overview(self, today: str, days: int = 30) -> dict[str, Any]:
        """The operators' dashboard: today's and the period's figures, the trend by day, the
        drivers (vehicles) and today's completed routes, planned against actual."""
        end = date.fromisoformat(today)
        period_days = [(end - timedelta(days=n)).isoformat() for n in reversed(range(days))]
        cells = list(self._facts.cells(period_days, depot_id=None, merchant_id=None))
        today_cells = [c for c in cells if c.day == today]
        empty = {"key": "all", **metrics({}, {})}
        by_day = {g["key"]: g for g in summarise(cells, "day", merchant_view=False)}
        routes = []
        for depot in sorted({c.depot_id for c in today_cells}):
            for fact in self._facts.facts_of_day(depot, today):
                if fact.kind == "route_completion":
                    routes.append(fact)
        return {
            "today": today,
            "from": period_days[0],
            "kpis_today": (summarise(today_cells, "all", merchant_view=False) or [empty])[0],
            "kpis_period": (summarise(cells, "all", merchant_view=False) or [empty])[0],
            "trend": [by_day.get(day) or {"key": day} for day in period_days],
            "vehicles": [
                g for g in summarise(cells, "vehicle", merchant_view=False) if g["key"] != NONE
            ],
            "routes": sorted(routes, key=lambda f: f.at, reverse=True),
            "definitions": DEFINITIONS,
        }

    def _active_depots(self, days: list[str], merchant_id: str | None) -> list[str]:
        cells = self._facts.cells(days, depot_id=None, merchant_id=merchant_id)
        return sorted({cell.depot_id for cell in cells})


MAX_ID_BYTES = 256  # no id of ours is longer; a longer one names nothing (and no key holds it)


def _too_long(value: str) -> bool:
    return len(value.encode("utf-8", errors="surrogatepass")) > MAX_ID_BYTES


def _minutes(seconds: Any) -> str:
    return f"{float(seconds) / 60:.1f}" if isinstance(seconds, int | float) else ""


def _flag(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


# Which fact says the order's outcome when several did (a deposit, then its collection): the
# later step in the lifecycle, whatever the clocks that timed them.
_STEP = {
    "failed_attempt": 0,
    "delivery": 1,
    "locker_deposit": 1,
    "locker_collection": 2,
    "locker_expiry": 2,
    "return": 2,
    "cancellation": 2,
    "rating": -1,
}


def order_row(order_id: str, facts: list[Fact]) -> dict[str, str]:
    """An order's facts of the period folded into its CSV row (no customer data at all)."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    first = facts[0]
    row |= {"order_id": order_id, "merchant_id": first.merchant_id, "depot_id": first.depot_id}
    failed = sorted((f for f in facts if f.kind == "failed_attempt"), key=lambda f: f.at)
    row["attempts"] = str(len(failed))
    row["failed_reasons"] = ";".join(str(f.values.get("reason")) for f in failed)
    outcome = "attempted" if failed else ""
    distance = sum(float(f.values.get("distance_m") or 0) for f in facts)
    co2e = sum(float(f.values.get("co2e_g") or 0) for f in facts)
    for fact in sorted(facts, key=lambda f: (_STEP.get(f.kind, 0), f.at)):
        v = fact.values
        if fact.vehicle_id != NONE:
            row["vehicle_id"] = fact.vehicle_id
            row["vehicle_profile"] = str(v.get("vehicle_profile") or "")
            row["route_id"] = str(v.get("route_id") or "")
        if fact.kind in ("delivery", "locker_deposit"):
            outcome = "delivered" if fact.kind == "delivery" else "in_locker"
            row["day"] = fact.day
            for name in ("received_at", "out_for_delivery_at", "delivered_at"):
                row[name] = str(v.get(name) or "")
            row["window_start"] = str(v.get("window_start") or "")
            row["window_end"] = str(v.get("window_end") or "")
            row["on_time"] = _flag(v.get("on_time"))
            row["in_full"] = _flag(v.get("in_full"))
            row["first_attempt_success"] = _flag(v.get("attempt") == 1)
            row["locker_id"] = str(v.get("locker_id") or "")
            row["received_to_delivered_minutes"] = _minutes(v.get("received_to_delivered_s"))
            row["service_minutes"] = _minutes(v.get("service_s"))
        elif fact.kind == "locker_collection":
            outcome, row["collected_at"] = "collected", fact.at
        elif fact.kind == "locker_expiry":
            outcome, row["expired_at"] = "expired", fact.at
        elif fact.kind == "return":
            outcome, row["returned_at"] = "returned", fact.at
            row["first_attempt_success"] = "false"
        elif fact.kind == "cancellation":
            outcome, row["cancelled_at"] = "cancelled", fact.at
        elif fact.kind == "rating":
            row["rating"] = str(int(float(v.get("rating") or 0)))
        if fact.kind == "failed_attempt" and v.get("attempt") == 1:
            row["first_attempt_success"] = "false"
        row["day"] = row["day"] or fact.day
    row["outcome"] = outcome
    row["distance_km"] = f"{distance / 1000:.3f}" if distance else ""
    row["co2e_g"] = f"{co2e:.1f}" if co2e else ""
    return row
