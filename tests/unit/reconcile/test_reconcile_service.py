"""The catch-up run's logic with in-memory ports: what is ingested, where cursors go, and how one
merchant's failure stays its own."""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake import woocommerce
from chalicelib.orders.service import Action, Inbound, IntakeResult, Outcome
from chalicelib.reconcile.ports import (
    Page,
    PlatformCredentialsRejected,
    PlatformError,
    PlatformOrders,
    PlatformUnavailable,
)
from chalicelib.reconcile.service import FIRST_LOOKBACK, OVERLAP, Budget, ReconcileService

EVENTS = Path(__file__).parents[2] / "events" / "reconcile"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def shopify_order(order_id: int, updated_at: str, **overrides: Any) -> dict[str, Any]:
    order = json.loads((EVENTS / "shopify_order.json").read_text())
    order.update(id=order_id, updated_at=updated_at, **overrides)
    return order


def woo_order(order_id: int, modified_gmt: str, **overrides: Any) -> dict[str, Any]:
    order = json.loads((EVENTS / "woocommerce_order.json").read_text())
    order.update(id=order_id, date_modified_gmt=modified_gmt, **overrides)
    return order


def a_merchant(merchant_id: str, created_at: str = "2026-01-01T00:00:00.000Z") -> Merchant:
    return Merchant(
        merchant_id=merchant_id, name=merchant_id, depot_id="dep_1", created_at=created_at
    )


class Accounts:
    def __init__(self, connections: dict[tuple[str, str], dict[str, Any]], *merchants: Merchant):
        self._merchants = list(merchants)
        self._connections = connections

    def merchants(self) -> list[Merchant]:
        return self._merchants

    def connection(self, merchant_id: str, platform: str) -> dict[str, Any] | None:
        return self._connections.get((merchant_id, platform))


class RecordingIntake:
    """Created the first time an (order, version) is seen, duplicate after; records what came."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Inbound]] = []
        self.racing: set[str] = set()  # external ids whose writes always lose a race

    def ingest(self, merchant: Merchant, inbound: Inbound) -> IntakeResult:
        if inbound.external_id in self.racing:
            raise ConcurrentUpdate(f"order {inbound.external_id} is being changed; retry later")
        seen = any(i.event_id == inbound.event_id for _, i in self.received)
        self.received.append((merchant.merchant_id, inbound))
        return IntakeResult(Outcome.DUPLICATE if seen else Outcome.CREATED)


class MemoryCursors:
    def __init__(self) -> None:
        self.at: dict[tuple[str, str], datetime] = {}

    def get(self, merchant_id: str, platform: str) -> datetime | None:
        return self.at.get((merchant_id, platform))

    def advance(self, merchant_id: str, platform: str, to: datetime) -> bool:
        current = self.at.get((merchant_id, platform))
        if current is not None and current >= to:
            return False
        self.at[(merchant_id, platform)] = to
        return True


class Pages:
    """A platform holding fixed pages; fails with `error` instead of serving page `fail_at`."""

    def __init__(
        self, *pages: Page, fail_at: int | None = None, error: PlatformError | None = None
    ) -> None:
        self.pages = [copy.deepcopy(p) for p in pages]
        self.fail_at, self.error = fail_at, error
        self.asked: list[datetime] = []

    def changed_since(self, since: datetime) -> Iterator[Page]:
        self.asked.append(since)
        for index, page in enumerate(self.pages):
            if index == self.fail_at and self.error:
                raise self.error
            yield page


def service(
    accounts: Accounts,
    intake: RecordingIntake,
    cursors: MemoryCursors,
    platforms: dict[tuple[str, str], Pages],
) -> ReconcileService:
    """`platforms` keyed by (access token or consumer key, platform) from the credentials."""

    def factory(platform: str, credentials: dict[str, Any]) -> PlatformOrders:
        if credentials.get("broken"):
            raise PlatformCredentialsRejected("connection lacks access_token")
        return platforms[(credentials["id"], platform)]

    return ReconcileService(accounts, intake, cursors, factory, clock=lambda: NOW)


def test_pulled_orders_go_through_the_webhook_translators_into_ingest() -> None:
    shop = Pages(
        [
            shopify_order(1001, "2026-11-21T10:00:00+00:00"),
            shopify_order(1002, "2026-11-21T10:05:00+00:00", cancelled_at="2026-11-21T10:05:00Z"),
        ]
    )
    woo = Pages([woo_order(4821, "2026-11-21T10:07:00")])
    accounts = Accounts(
        {("m1", "shopify"): {"id": "s"}, ("m1", "woocommerce"): {"id": "w"}}, a_merchant("m1")
    )
    intake = RecordingIntake()
    svc = service(
        accounts, intake, MemoryCursors(), {("s", "shopify"): shop, ("w", "woocommerce"): woo}
    )

    summary = svc.run()

    inbounds = [i for _, i in intake.received]
    assert [(i.source, i.external_id, i.action) for i in inbounds] == [
        ("shopify", "1001", Action.UPSERT),
        ("shopify", "1002", Action.CANCEL),
        ("woocommerce", "4821", Action.UPSERT),
    ]
    assert inbounds[0].event_id == "reconcile:1001:2026-11-21T10:00:00+00:00"
    assert inbounds[0].draft is not None and inbounds[0].draft.address.city == "London"
    # The same id a webhook of that version carries: a version already delivered is a duplicate.
    assert inbounds[2].event_id == woocommerce.event_id(
        woocommerce.WooOrder.model_validate(woo_order(4821, "2026-11-21T10:07:00"))
    )
    assert summary.totals == {"created": 3}
    assert summary.failed == []


def test_the_cursor_follows_each_applied_page_and_the_next_run_starts_before_it() -> None:
    shop = Pages(
        [shopify_order(1, "2026-11-21T09:00:00+00:00"), shopify_order(2, "2026-11-21T09:30:00Z")],
        [shopify_order(3, "2026-11-21T11:15:00+01:00")],  # 10:15 UTC: the newest
    )
    cursors = MemoryCursors()
    accounts = Accounts({("m1", "shopify"): {"id": "s"}}, a_merchant("m1"))
    svc = service(accounts, RecordingIntake(), cursors, {("s", "shopify"): shop})

    first = svc.run()
    newest = datetime(2026, 11, 21, 10, 15, tzinfo=UTC)
    assert cursors.get("m1", "shopify") == newest
    assert first.runs[0].pages == 2

    second = svc.run()
    assert shop.asked[1] == newest - OVERLAP
    assert second.totals == {"duplicate": 3}


def test_first_run_looks_back_but_never_before_the_merchant_joined() -> None:
    old, new = Pages([]), Pages([])
    accounts = Accounts(
        {("old", "shopify"): {"id": "old"}, ("new", "shopify"): {"id": "new"}},
        a_merchant("old", "2025-05-01T00:00:00.000Z"),
        a_merchant("new", "2026-11-21T11:00:00.000Z"),
    )
    cursors = MemoryCursors()
    svc = service(
        accounts, RecordingIntake(), cursors, {("old", "shopify"): old, ("new", "shopify"): new}
    )

    svc.run()

    assert old.asked == [NOW - FIRST_LOOKBACK]
    assert new.asked == [datetime(2026, 11, 21, 11, 0, tzinfo=UTC)]
    assert cursors.at == {}, "no orders seen: no cursor written"


def test_a_failure_half_way_keeps_the_cursor_at_the_last_applied_page_and_others_go_on() -> None:
    failing = Pages(
        [shopify_order(1, "2026-11-21T09:00:00+00:00")],
        [shopify_order(2, "2026-11-21T10:00:00+00:00")],
        fail_at=1,
        error=PlatformUnavailable("Shopify answered 503"),
    )
    fine = Pages([woo_order(7, "2026-11-21T10:30:00")])
    accounts = Accounts(
        {("a", "shopify"): {"id": "a"}, ("b", "woocommerce"): {"id": "b"}},
        a_merchant("a"),
        a_merchant("b"),
    )
    cursors = MemoryCursors()
    intake = RecordingIntake()
    svc = service(
        accounts, intake, cursors, {("a", "shopify"): failing, ("b", "woocommerce"): fine}
    )

    summary = svc.run()

    assert cursors.get("a", "shopify") == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert cursors.get("b", "woocommerce") == datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    [failed] = summary.failed
    assert failed.merchant_id == "a"
    assert failed.error == "platform_unavailable: Shopify answered 503"
    assert [i.external_id for _, i in intake.received] == ["1", "7"]


def test_a_refused_order_is_counted_and_does_not_hold_back_the_rest() -> None:
    nowhere = shopify_order(2, "2026-11-21T10:00:00+00:00")
    nowhere["shipping_address"] = {**nowhere["shipping_address"], "city": None, "zip": None}
    shop = Pages(
        [
            shopify_order(1, "2026-11-21T09:00:00+00:00"),
            nowhere,
            shopify_order(3, "2026-11-21T09:30:00+00:00", shipping_address=None),
        ]
    )
    cursors = MemoryCursors()
    accounts = Accounts({("m1", "shopify"): {"id": "s"}}, a_merchant("m1"))
    summary = service(accounts, RecordingIntake(), cursors, {("s", "shopify"): shop}).run()

    assert summary.totals == {"created": 1, "rejected": 1, "ignored": 1}
    assert cursors.get("m1", "shopify") == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_an_order_that_keeps_losing_races_stops_that_merchant_before_its_cursor_moves() -> None:
    shop = Pages([shopify_order(1, "2026-11-21T09:00:00+00:00")])
    intake = RecordingIntake()
    intake.racing.add("1")
    cursors = MemoryCursors()
    accounts = Accounts({("m1", "shopify"): {"id": "s"}}, a_merchant("m1"))

    summary = service(accounts, intake, cursors, {("s", "shopify"): shop}).run()

    assert summary.runs[0].error is not None
    assert summary.runs[0].error.startswith("concurrent_update")
    assert cursors.at == {}


def test_only_connected_platforms_are_visited_and_broken_connections_are_reported() -> None:
    accounts = Accounts(
        {("m1", "woocommerce"): {"broken": True}}, a_merchant("m1"), a_merchant("m2")
    )
    summary = service(accounts, RecordingIntake(), MemoryCursors(), {}).run()

    assert [(r.merchant_id, r.platform) for r in summary.runs] == [("m1", "woocommerce")]
    assert summary.as_dict()["failed"] == 1
    assert summary.runs[0].error == "platform_credentials_rejected: connection lacks access_token"


@pytest.mark.parametrize("stamp", [timedelta(0), timedelta(seconds=-1)])
def test_a_cursor_never_moves_backwards_through_the_port(stamp: timedelta) -> None:
    cursors = MemoryCursors()
    cursors.advance("m1", "shopify", NOW)
    assert cursors.advance("m1", "shopify", NOW + stamp) is False
    assert cursors.get("m1", "shopify") == NOW


class MemoryRotation:
    def __init__(self) -> None:
        self.last: str | None = None

    def after(self) -> str | None:
        return self.last

    def moved_to(self, merchant_id: str) -> None:
        self.last = merchant_id


def rotating(
    merchants: int, budget: Budget, timer: Any = None
) -> tuple[ReconcileService, dict[str, Pages]]:
    """`merchants` merchants, each connected to Shopify; a rotation persisted in memory."""
    ids = [f"m{n:02d}" for n in range(merchants)]
    accounts = Accounts(
        {(m, "shopify"): {"id": m} for m in ids}, *(a_merchant(m) for m in reversed(ids))
    )
    platforms = {m: Pages([]) for m in ids}

    def factory(platform: str, credentials: dict[str, Any]) -> PlatformOrders:
        return platforms[credentials["id"]]

    extra = {"timer": timer} if timer else {}
    return (
        ReconcileService(
            accounts,
            RecordingIntake(),
            MemoryCursors(),
            factory,
            clock=lambda: NOW,
            rotation=MemoryRotation(),
            budget=budget,
            **extra,
        ),
        platforms,
    )


@pytest.mark.parametrize(("merchants", "per_run"), [(7, 3), (9, 3), (5, 5), (3, 10), (11, 4)])
def test_with_a_budget_of_n_merchants_each_is_visited_within_ceil_m_over_n_runs(
    merchants: int, per_run: int
) -> None:
    reconcile, platforms = rotating(merchants, Budget(merchants=per_run))
    rounds = math.ceil(merchants / per_run)

    for _ in range(3):  # and again in every later window of that many runs
        visited = [reconcile.run().visited for _ in range(rounds)]
        assert all(len(v) == min(per_run, merchants) for v in visited)
        assert set(itertools.chain(*visited)) == set(platforms), visited
    assert all(len(p.asked) >= 3 for p in platforms.values()), "every one asked each window"


def test_a_run_out_of_time_hands_on_where_it_stopped() -> None:
    ticks = itertools.count()
    # The timer moves 10 "seconds" at each look; the budget allows 25: two merchants a run.
    reconcile, _ = rotating(6, Budget(merchants=100, seconds=25), timer=lambda: 10 * next(ticks))

    first, second = reconcile.run(), reconcile.run()

    assert first.visited == ["m00", "m01"]
    assert second.visited == ["m02", "m03"]
    assert first.as_dict()["merchants"] == 6 and first.as_dict()["visited"] == 2


@pytest.mark.parametrize("stamp", ["garbage", "2026-11-21T09:45:00", "9999-12-31T23:59:59Z"])
def test_a_pulled_order_with_a_time_no_order_can_hold_is_refused_and_the_run_goes_on(
    stamp: str,
) -> None:
    shop = Pages(
        [
            shopify_order(1, "2026-11-21T09:00:00+00:00"),
            shopify_order(2, stamp),
            shopify_order(3, "2026-11-21T09:30:00+00:00"),
        ]
    )
    cursors = MemoryCursors()
    accounts = Accounts({("m1", "shopify"): {"id": "s"}}, a_merchant("m1"))
    summary = service(accounts, RecordingIntake(), cursors, {("s", "shopify"): shop}).run()

    assert summary.totals == {"created": 2, "rejected": 1}
    assert summary.runs[0].error is None
    assert cursors.get("m1", "shopify") == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def test_woocommerce_change_times_are_gmt_and_garbage_ones_do_not_move_the_cursor() -> None:
    shop = Pages([woo_order(1, "2026-11-21T09:00:00"), woo_order(2, "not a time")])
    cursors = MemoryCursors()
    accounts = Accounts({("m1", "woocommerce"): {"id": "w"}}, a_merchant("m1"))
    summary = service(accounts, RecordingIntake(), cursors, {("w", "woocommerce"): shop}).run()

    assert summary.runs[0].error is None
    assert cursors.get("m1", "woocommerce") == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
