"""The locker service against moto: deposits and pickups as conditional writes, codes that
rotate, the sweep's reminders and expiries, a failed run's doors given back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import LockerFull
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.lockers import ParcelState
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.lockers.admin import NewLocker
from chalicelib.lockers.choices import NotOffered
from chalicelib.lockers.codes import SealBroken
from chalicelib.lockers.kiosk import KioskLocked, LockerKiosk, PickupRefused
from chalicelib.store.models.orders import OutboxMessageItem
from chalicelib.store.orders import message_as_dict
from tests.integration.test_dispatch import order, place, run_to_end, sfn, tenant

__all__ = ["sfn"]  # the module's workflow fixture, shared

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def keys() -> Iterator[None]:
    """The pickup-code key in Secrets Manager, as the CDK app makes it."""
    sm = bootstrap.client("secretsmanager")
    name = bootstrap.settings().pickup_code_secret_name
    try:
        sm.create_secret(Name=name, SecretString="integration-pickup-code-key")
    except sm.exceptions.ResourceExistsException:
        pass
    yield


def locker_with(depot_id: str, *sizes: str, holding_hours: int = 72) -> tuple[str, str]:
    locker, key = bootstrap.locker_admin().create(
        NewLocker(
            "Test locker",
            51.51,
            -0.11,
            depot_id,
            [(f"{s}{n}", s) for n, s in enumerate(sizes)],
            holding_hours=holding_hours,
        )
    )
    return locker.locker_id, key


def sealed_codes(order_id: str) -> list[str]:
    """The codes sent to the customer, unsealed (what notify does before sending)."""
    items = OutboxMessageItem.query(f"ORDER#{order_id}")
    messages = sorted((message_as_dict(i) for i in items), key=lambda m: m["sk"])
    keys = bootstrap.pickup_code_keys()
    return [
        keys.open(m["pickup_code_sealed"], order_id)
        for m in messages
        if m["type"] == "order.in_locker"
    ]


def deposited(sfn: tuple[LocalStepFunctions, str], sizes: str = "MM") -> dict[str, Any]:
    merchant = tenant(vehicles=1)
    locker_id, key = locker_with(merchant.depot_id, *sizes)
    placed = place(merchant, 1, delivery={"type": "locker", "locker_id": locker_id})
    run_to_end(sfn, merchant.depot_id)
    answer = bootstrap.locker_kiosk().deposit(locker_id, key, placed.order_id)
    return {"merchant": merchant, "locker_id": locker_id, "key": key, "order": placed, **answer}


def test_a_code_is_sealed_to_its_order(keys: None) -> None:
    codes = bootstrap.pickup_code_keys()
    sealed = codes.seal("01234567", "ord_a")
    assert "01234567" not in sealed
    assert codes.open(sealed, "ord_a") == "01234567"
    for broken in (sealed[:-4] + "AAAA", "v1.@@@", "v1.", "plain"):
        with pytest.raises(SealBroken):
            codes.open(broken, "ord_a")
    with pytest.raises(SealBroken):
        codes.open(sealed, "ord_b")


def test_resend_and_extend_rotate_the_code(keys: None, sfn: tuple[LocalStepFunctions, str]) -> None:
    got = deposited(sfn)
    choices, kiosk, locker_id = (
        bootstrap.locker_choices(),
        bootstrap.locker_kiosk(),
        got["locker_id"],
    )
    [first] = sealed_codes(got["order"].order_id)

    choices.resend_code(order(got["order"].order_id))
    later = choices.extend(order(got["order"].order_id))

    old, resent, extended = sealed_codes(got["order"].order_id)
    assert old == first and len({old, resent, extended}) == 3
    assert later > got["pickup_by"]
    with pytest.raises(NotOffered):
        choices.extend(order(got["order"].order_id))  # once
    for stale in (old, resent):
        with pytest.raises(PickupRefused):
            kiosk.pickup(locker_id, got["key"], stale)
    assert kiosk.pickup(locker_id, got["key"], extended)["order_id"] == got["order"].order_id


def test_the_sweep_reminds_once_then_returns_the_parcel(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = deposited(sfn)
    sweep, order_id = bootstrap.locker_sweep(), got["order"].order_id
    now = time.time()

    assert sweep.sweep(now + 47 * 3600) == {"reminded": 0, "expired": 0}
    assert sweep.sweep(now + 49 * 3600) == {"reminded": 1, "expired": 0}
    assert sweep.sweep(now + 50 * 3600) == {"reminded": 0, "expired": 0}
    assert sweep.sweep(now + 73 * 3600) == {"reminded": 0, "expired": 1}

    assert order(order_id).status is OrderStatus.RETURNED
    parcel = bootstrap.locker_repository().parcel(got["locker_id"], order_id)
    assert parcel is not None and parcel.state is ParcelState.EXPIRED
    assert parcel.code_hash == "" and parcel.code_salt == "", "an expired code is gone"
    [door] = [c for c in bootstrap.locker_repository().compartments(got["locker_id"]) if c.order_id]
    assert door.state == "awaiting_retrieval"


def test_five_wrong_codes_lock_the_kiosk_for_fifteen_minutes(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = deposited(sfn)
    [code] = sealed_codes(got["order"].order_id)
    clock = [time.time()]
    repo = bootstrap.locker_repository()
    lockers = LockerKiosk(
        repo,
        bootstrap.order_repository(),
        bootstrap.pickup_code_keys(),
        bootstrap.locker_directory(),
        bootstrap.driver_tokens(),
        clock=lambda: clock[0],
    )
    wrong = "99999999" if code != "99999999" else "88888888"
    for _ in range(4):
        with pytest.raises(PickupRefused):
            lockers.pickup(got["locker_id"], got["key"], wrong)
    clock[0] += 16 * 60  # the first four fall out of the window
    for _ in range(4):
        with pytest.raises(PickupRefused):
            lockers.pickup(got["locker_id"], got["key"], "not-a-code")
    with pytest.raises(PickupRefused):
        lockers.pickup(got["locker_id"], got["key"], wrong)  # the fifth in 15 minutes
    with pytest.raises(KioskLocked) as locked:
        lockers.pickup(got["locker_id"], got["key"], code)
    assert locked.value.retry_after == 900
    clock[0] += 15 * 60 + 1
    assert lockers.pickup(got["locker_id"], got["key"], code)["order_id"] == got["order"].order_id


def test_a_deposit_finds_the_locker_full(keys: None, sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant(vehicles=1)
    small, key = locker_with(merchant.depot_id, "S")
    placed = place(merchant, 1)  # a home delivery of an M parcel, redirected by its driver
    run_to_end(sfn, merchant.depot_id)
    with pytest.raises(LockerFull):
        bootstrap.locker_kiosk().deposit(small, key, placed.order_id)
    assert order(placed.order_id).status is OrderStatus.PLANNED


def test_a_cancelled_planned_locker_order_gives_its_doors_back(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    merchant = tenant(vehicles=1)
    locker_id, _ = locker_with(merchant.depot_id, "M")
    placed = place(merchant, 1, delivery={"type": "locker", "locker_id": locker_id})
    run_to_end(sfn, merchant.depot_id)
    repo = bootstrap.locker_repository()
    assert [c.state for c in repo.compartments(locker_id)] == ["reserved"]

    bootstrap.dispatch().remove_from_route(order(placed.order_id))

    assert [c.state for c in repo.compartments(locker_id)] == ["free"]


def test_attempts_at_the_same_moment_each_count_once() -> None:
    repo = bootstrap.locker_repository()
    now = int(time.time())

    def attempt(_: int) -> int:
        return repo.count_attempt("lkr_busy", now, window_s=900).attempts

    with ThreadPoolExecutor(20) as pool:
        numbers = sorted(pool.map(attempt, range(100)))

    assert numbers == list(range(1, 101)), "each attempt its own number: none lost, none twice"
    assert repo.kiosk_attempts("lkr_busy").attempts == 100
    assert repo.kiosk_attempts("lkr_quiet").attempts == 0, "another locker's count is its own"
    assert repo.count_attempt("lkr_busy", now + 900, window_s=900).attempts == 1, "a new window"
