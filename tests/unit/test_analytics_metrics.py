"""Every metric of the analytics summary on hand-computed fixtures: the facts of a small day
folded the way the store folds them (a fact's identity counts once), then summarised."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from chalicelib.analytics.emissions import FACTORS, g_co2e
from chalicelib.analytics.facts import (
    Delivered,
    Fact,
    RouteDone,
    Stop,
    contribution,
    delivery_fact,
    failed_fact,
    local_day,
    order_fact,
    rating_fact,
    route_fact,
    zone_of,
)
from chalicelib.analytics.metrics import DEFINITIONS, Cell, percentile, summarise
from chalicelib.analytics.recorder import promised_window
from chalicelib.domain.order import (
    Address,
    Customer,
    Delivery,
    Order,
    OrderDraft,
    Parcel,
    Window,
    receive,
)


def an_order_model(delivery: Delivery) -> Order:
    draft = OrderDraft(
        "ext-1",
        Customer("Ada Lovelace"),
        Address("1 Road", "London", "N1 1AA", "GB", lat=51.5, lng=-0.1),
        (Parcel(1.0),),
        delivery,
    )
    return receive(draft, merchant_id="mer_a", depot_id="dep_1", source="api")[0]


LONDON = zone_of("Europe/London")
PARIS = zone_of("Europe/Paris")  # UTC+1 in winter
VAN = Stop("rte_1", "van-1", "van", 5000.0)  # a 20 km route of 4 stops: 5 km each
BIKE = Stop("rte_2", "bike-1", "cargo_bike", 1000.0)


def fold(facts: list[Fact]) -> list[Cell]:
    """The store's folding: a fact whose (subject, identity) was seen adds nothing again."""
    seen: set[tuple[str, str]] = set()
    cells: dict[tuple[str, str, str, str], Cell] = {}
    for fact in facts:
        if (fact.subject, fact.identity) in seen:
            continue
        seen.add((fact.subject, fact.identity))
        key = (fact.day, fact.depot_id, fact.merchant_id, fact.vehicle_id)
        cell = cells.setdefault(key, Cell(*key))
        added = contribution(fact)
        for name, n in added.counters.items():
            cell.counters[name] = cell.counters.get(name, 0) + n
        for name, minutes in added.buckets.items():
            cell.histograms.setdefault(name, Counter())[minutes] += 1
    return list(cells.values())


def delivered(order_id: str, at: str, stop: Stop | None = VAN, **kw: object) -> Fact:
    fields: dict[str, object] = {
        "order_id": order_id,
        "merchant_id": "mer_a",
        "depot_id": "dep_1",
        "received_at": "2026-03-02T08:00:00Z",
        "delivered_at": at,
        "parcels": 1,
        "attempt": 1,
        "out_for_delivery_at": "2026-03-02T09:00:00Z",
    } | kw
    return delivery_fact(Delivered(**fields), stop, LONDON)  # type: ignore[arg-type]


def one(facts: list[Fact], group_by: str = "day", merchant_view: bool = False) -> dict:
    [group] = summarise(fold(facts), group_by, merchant_view=merchant_view)
    return group


WINDOW = ("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")


def test_on_time_and_otif_count_only_deliveries_with_a_window_told() -> None:
    facts = [
        delivered("o1", "2026-03-02T10:30:00Z", window=WINDOW),  # inside: on time, in full
        delivered("o2", "2026-03-02T11:40:00Z", window=WINDOW),  # 40 min late
        delivered("o3", "2026-03-02T10:10:00Z", window=WINDOW, parcels=2, parcels_delivered=1),
        delivered("o4", "2026-03-02T15:00:00Z"),  # no window promised: neither way
    ]
    g = one(facts)
    assert g["delivered"] == 4 and g["orders"] == 4
    assert g["on_time_rate"] == round(2 / 3, 4)  # o1, o3 of o1-o3
    assert g["otif_rate"] == round(1 / 3, 4)  # o3 was short of a parcel
    assert g["avg_delay_minutes"] == 40.0


def test_no_window_promised_leaves_the_rates_unmeasured() -> None:
    g = one([delivered("o1", "2026-03-02T10:30:00Z")])
    assert g["on_time_rate"] is None and g["otif_rate"] is None
    assert "on_time_rate" in DEFINITIONS and "otif_rate" in DEFINITIONS


def test_a_replanned_order_is_held_to_the_last_window_it_was_told() -> None:
    order = an_order_model(
        delivery=Delivery(window=Window("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")),
    )
    # Re-planned: the window told last replaced the merchant's slot and the first ETA's.
    replanned = replace(order, eta_from="2026-03-02T14:00:00Z", eta_to="2026-03-02T15:00:00Z")
    assert promised_window(order) == ("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z")
    assert promised_window(replanned) == ("2026-03-02T14:00:00Z", "2026-03-02T15:00:00Z")
    fact = delivered("o1", "2026-03-02T14:30:00Z", window=promised_window(replanned))
    assert one([fact])["on_time_rate"] == 1.0
    assert promised_window(replace(order, delivery=Delivery())) is None


def test_a_redelivered_event_counts_once() -> None:
    first = delivered("o1", "2026-03-02T10:30:00Z", window=WINDOW)
    again = delivered("o1", "2026-03-02T10:31:00Z", window=WINDOW)  # the phone sent it again
    assert (first.subject, first.identity) == (again.subject, again.identity)
    g = one([first, again])
    assert (g["delivered"], g["orders"], g["on_time_rate"]) == (1, 1, 1.0)


def test_first_attempt_success_is_over_orders_that_had_a_first_attempt() -> None:
    facts = [
        delivered("o1", "2026-03-02T10:00:00Z"),
        failed_fact("o2", "mer_a", "dep_1", "2026-03-02T10:20:00Z", "not_home", 1, VAN, LONDON),
        failed_fact("o3", "mer_a", "dep_1", "2026-03-02T10:40:00Z", "refused", 1, VAN, LONDON),
        delivered("o2", "2026-03-02T16:00:00Z", attempt=2),  # second attempt, same day
    ]
    g = one(facts)
    assert g["first_attempt_success_rate"] == round(1 / 3, 4)
    assert g["failed_attempts"] == 2
    assert g["failed_by_reason"] == {"not_home": 1, "refused": 1}


def test_a_locker_expiry_is_a_return_not_a_second_order() -> None:
    deposit = delivered("o1", "2026-03-02T10:00:00Z", locker_id="lkr_1")
    expiry = order_fact("locker_expiry", "o1", "mer_a", "dep_1", "2026-03-02T20:00:00Z", LONDON)
    collected = order_fact(
        "locker_collection",
        "o2",
        "mer_a",
        "dep_1",
        "2026-03-02T13:00:00Z",
        LONDON,
        collection_s=5400,
    )
    home = delivered("o3", "2026-03-02T10:00:00Z")
    g = one(
        [
            deposit,
            expiry,
            collected,
            home,
            delivered("o2", "2026-03-02T11:30:00Z", locker_id="lkr_1"),
        ]
    )
    assert (g["orders"], g["delivered"], g["returned"], g["expiries"]) == (3, 3, 1, 1)
    assert g["locker_share"] == round(2 / 3, 4)
    assert g["avg_collection_minutes"] == 90.0


def test_a_day_boundary_is_the_depots_own() -> None:
    # 22:30 UTC is 23:30 in Paris (UTC+1 in March before the change): still the 2nd there.
    assert local_day("2026-03-02T22:30:00Z", PARIS) == "2026-03-02"
    assert local_day("2026-03-02T23:30:00Z", PARIS) == "2026-03-03"
    late = delivery_fact(
        Delivered("o1", "mer_a", "dep_1", "2026-03-02T08:00:00Z", "2026-03-02T22:30:00Z", 1, 1),
        VAN,
        PARIS,
    )
    groups = summarise(fold([late]), "day", merchant_view=False)
    assert [g["key"] for g in groups] == ["2026-03-02"]


def test_medians_and_p90_are_exact_nearest_rank_minutes() -> None:
    facts = [
        delivered(
            f"o{n}",
            f"2026-03-02T{9 + n // 6:02d}:{(n * 10) % 60:02d}:00Z",
            received_at="2026-03-02T08:50:00Z",
        )
        for n in range(1, 11)
    ]
    # Received at 08:50, delivered 09:10 .. 10:40: 20, 30, ..., 110 minutes.
    g = one(facts)
    assert g["median_delivery_minutes"] == 60  # rank ceil(0.5 x 10) = 5th
    assert g["p90_delivery_minutes"] == 100  # rank 9
    assert percentile({}, 0.5) is None
    assert percentile({7: 1}, 0.9) == 7
    # Out for delivery at 09:00: 10 .. 100 minutes, 55 on average.
    assert g["avg_out_to_delivered_minutes"] == 55.0


def test_service_time_and_delay_are_capped_the_way_onfleet_caps_them() -> None:
    facts = [
        delivered(
            "o1", "2026-03-02T13:00:00Z", window=WINDOW, arrived_at="2026-03-02T12:00:00Z"
        ),  # 2 h late, 60 min at the door
        delivered(
            "o2", "2026-03-02T11:30:00Z", window=WINDOW, arrived_at="2026-03-02T11:20:00Z"
        ),  # 30 min late, 10 min at the door
    ]
    g = one(facts)
    assert g["avg_delay_minutes"] == (90 + 30) / 2
    assert g["avg_service_minutes"] == (30 + 10) / 2


def test_route_figures_tasks_per_hour_km_per_stop_and_co2e() -> None:
    route = route_fact(
        RouteDone(
            "rte_1",
            "dep_1",
            "van-1",
            "van",
            "2026-03-02T09:00:00Z",
            5400,
            20000,
            4,
            4,
            started_at="2026-03-02T09:00:00Z",
            finished_at="2026-03-02T11:00:00Z",
        ),
        LONDON,
    )
    facts = [
        route,
        delivered("o1", "2026-03-02T09:30:00Z", parcels=2),
        delivered("o2", "2026-03-02T10:00:00Z"),
        failed_fact("o3", "mer_a", "dep_1", "2026-03-02T10:20:00Z", None, 1, VAN, LONDON),
        delivered("o4", "2026-03-02T10:50:00Z"),
    ]
    g = one(facts)
    assert g["tasks_per_hour"] == 2.0  # 4 tasks / 2 h active
    assert g["stops_per_route"] == 4.0
    assert g["km_per_stop"] == 5.0  # 4 stops x 5 km / 4 stops
    # 4 stops x 5 km x 310 g/km, over 4 parcels delivered (o3's failed stop costs too).
    assert FACTORS["van"].g_per_km == 310.0
    assert g["co2e_g_per_parcel"] == round(4 * 5 * 310 / 4, 4)
    assert (g["planned_route_minutes"], g["actual_route_minutes"]) == (90.0, 120.0)
    assert g["route_co2e_g"] == 20 * 310
    assert g["failed_by_reason"] == {"other": 1}


def test_emission_factors_are_one_table_with_sources() -> None:
    assert set(FACTORS) == {"van", "electric_van", "cargo_bike", "on_foot", "drone"}
    assert all(f.source for f in FACTORS.values())
    assert g_co2e("on_foot", 10_000) == 0.0
    assert g_co2e("electric_van", 10_000) == 10 * 0.25 * 0.25 * 1000  # kWh/km x grid x km
    assert g_co2e("cargo_bike", 1000) < g_co2e("electric_van", 1000) < g_co2e("van", 1000)
    bike = one([delivered("o1", "2026-03-02T10:00:00Z", stop=BIKE)])
    assert bike["co2e_g_per_parcel"] == 5.0  # 1 km x 0.02 kWh x 0.25 kg


def test_ratings_average_and_distribution_and_a_merchants_view() -> None:
    d1 = delivered("o1", "2026-03-02T10:00:00Z")
    d2 = delivered("o2", "2026-03-02T10:00:00Z")
    facts = [
        d1,
        d2,
        rating_fact("o1", "mer_a", "dep_1", 5, "2026-03-04T10:00:00Z", d1, "2026-03-04"),
        rating_fact("o2", "mer_a", "dep_1", 4, "2026-03-04T10:00:00Z", d2, "2026-03-04"),
        rating_fact("o2", "mer_a", "dep_1", 1, "2026-03-04T11:00:00Z", d2, "2026-03-04"),
    ]
    g = one(facts, merchant_view=True)
    assert g["key"] == "2026-03-02"  # counted with the deliveries they rate
    assert (g["ratings"], g["rating_avg"]) == (2, 4.5)
    assert g["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert g["tasks_per_hour"] is None and g["stops_per_route"] is None


def test_groups_by_vehicle_and_merchant() -> None:
    facts = [
        delivered("o1", "2026-03-02T10:00:00Z"),
        delivered("o2", "2026-03-02T10:00:00Z", stop=BIKE, merchant_id="mer_b"),
        order_fact("cancellation", "o3", "mer_b", "dep_1", "2026-03-02T10:00:00Z", LONDON),
    ]
    by_vehicle = {g["key"]: g for g in summarise(fold(facts), "vehicle", merchant_view=False)}
    assert set(by_vehicle) == {"van-1", "bike-1", "-"}
    assert by_vehicle["-"]["cancelled"] == 1
    by_merchant = {
        g["key"]: g["orders"] for g in summarise(fold(facts), "merchant", merchant_view=False)
    }
    assert by_merchant == {"mer_a": 1, "mer_b": 2}


@pytest.mark.parametrize("kind", ["nonsense"])
def test_an_unknown_fact_kind_is_refused(kind: str) -> None:
    with pytest.raises(ValueError):
        contribution(Fact(kind, "o", "X", "2026-03-02", "d", "m", "-", "t"))
