"""The locker service against moto when pressed: a flood of guesses counted before any is looked
at, pickup codes unique among a locker's live ones, orders too big for one transaction refused
whole, and the sweep and the locker search reading only what they need."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import DomainError
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.lockers import LiveCode, ParcelState
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.lockers.admin import NewLocker
from chalicelib.lockers.choices import LockerChoices
from chalicelib.lockers.directory import NEAR_CANDIDATES
from chalicelib.lockers.kiosk import KioskLocked, LockerKiosk, PickupRefused, TooManyParcels
from chalicelib.store.lockers import LockerRepository
from chalicelib.store.transaction import Transaction
from tests.integration.dynamodb_reads import recorded_reads
from tests.integration.test_dispatch import order, place, run_to_end, sfn, tenant
from tests.integration.test_lockers import deposited, keys, locker_with, sealed_codes

__all__ = ["keys", "sfn"]  # fixtures shared with the modules they come from

pytestmark = pytest.mark.usefixtures("aws")


class LookingRepository(LockerRepository):
    """The real store, recording how often a kiosk looked at the locker's live codes (once
    per code checked)."""

    def __init__(self) -> None:
        self.looked = 0
        self._lock = threading.Lock()

    def live_codes(self, locker_id: str) -> list[LiveCode]:
        with self._lock:
            self.looked += 1
        return super().live_codes(locker_id)


def kiosk_with(repo: LockerRepository, **options: object) -> LockerKiosk:
    return LockerKiosk(
        repo,
        bootstrap.order_repository(),
        bootstrap.pickup_code_keys(),
        bootstrap.locker_directory(),
        bootstrap.driver_tokens(),
        **options,  # type: ignore[arg-type]
    )


def wrong_codes(right: set[str], n: int) -> list[str]:
    return [
        c for c in (f"{k:08d}" for k in range(10_000_000, 10_000_000 + n + 5)) if c not in right
    ][:n]


def test_a_hundred_wrong_codes_at_once_all_count_and_five_are_looked_at(
    keys: None,
    sfn: tuple[LocalStepFunctions, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    got = deposited(sfn)
    locker_id, order_id = got["locker_id"], got["order"].order_id
    [code] = sealed_codes(order_id)
    repo = LookingRepository()
    kiosk = kiosk_with(repo)
    capsys.readouterr()

    def guess(wrong: str) -> str:
        try:
            kiosk.pickup(locker_id, got["key"], wrong)
        except DomainError as exc:
            return type(exc).__name__
        return "opened"

    with ThreadPoolExecutor(100) as pool:
        answers = Counter(pool.map(guess, wrong_codes({code}, 100)))

    assert set(answers) <= {"PickupRefused", "KioskLocked"}, answers
    assert answers["PickupRefused"] == repo.looked == 5, "only the window's five are looked at"
    assert answers["KioskLocked"] == 95
    counted = repo.kiosk_attempts(locker_id)
    assert counted.attempts == 100, "every concurrent guess is counted"
    assert counted.lockouts == 1 and counted.locked_until > time.time()
    printed = capsys.readouterr()
    assert printed.out.count('"Name":"KioskLockouts"') == 1, "one alert metric per lockout"
    # As records (caplog), whatever stream the Powertools handler was bound to at import.
    alerts = [r for r in caplog.records if r.getMessage().startswith("locker kiosk locked")]
    assert len(alerts) == 1, "and one alert log line"
    assert order(order_id).status is OrderStatus.IN_LOCKER
    held = repo.parcel(locker_id, order_id)
    assert held is not None and held.state is ParcelState.DEPOSITED
    with pytest.raises(KioskLocked):
        kiosk.pickup(locker_id, got["key"], code)  # locked means locked, the right code too


def test_a_right_code_gives_back_its_own_attempt_and_no_more(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = deposited(sfn)
    locker_id, order_id = got["locker_id"], got["order"].order_id
    [code] = sealed_codes(order_id)
    repo = bootstrap.locker_repository()
    now = time.time()
    kiosk = kiosk_with(repo, clock=lambda: now)
    wrong = wrong_codes({code}, 5)
    for guess in wrong[:4]:
        with pytest.raises(PickupRefused):
            kiosk.pickup(locker_id, got["key"], guess)

    assert kiosk.pickup(locker_id, got["key"], code)["order_id"] == order_id

    assert repo.kiosk_attempts(locker_id).attempts == 4, "its own attempt back, not a reset"
    with pytest.raises(PickupRefused):
        kiosk.pickup(locker_id, got["key"], wrong[4])  # the fifth wrong one locks it
    with pytest.raises(KioskLocked) as locked:
        kiosk.pickup(locker_id, got["key"], wrong[0])
    assert locked.value.retry_after == 900


def test_a_drawn_code_live_at_the_locker_is_drawn_again(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    merchant = tenant(vehicles=1)
    locker_id, key = locker_with(merchant.depot_id, "M", "M")
    placed = [
        place(merchant, n, delivery={"type": "locker", "locker_id": locker_id}) for n in (1, 2)
    ]
    run_to_end(sfn, merchant.depot_id)
    drawn = iter(["11111111", "11111111", "22222222", "11111111", "33333333"])
    repo = bootstrap.locker_repository()
    kiosk = kiosk_with(repo, codes=lambda: next(drawn))

    for each in placed:
        kiosk.deposit(locker_id, key, each.order_id)

    first, second = (sealed_codes(each.order_id) for each in placed)
    assert (first, second) == (["11111111"], ["22222222"]), "the clash was drawn again"
    assert len(repo.live_codes(locker_id)) == 2
    choices = LockerChoices(
        repo,
        bootstrap.order_repository(),
        bootstrap.pickup_code_keys(),
        bootstrap.locker_directory(),
        codes=lambda: next(drawn),
    )
    choices.resend_code(order(placed[1].order_id))
    assert sealed_codes(placed[1].order_id) == ["22222222", "33333333"], "not the live 11111111"
    with pytest.raises(PickupRefused):
        kiosk.pickup(locker_id, key, "22222222")  # replaced
    assert kiosk.pickup(locker_id, key, "11111111")["order_id"] == placed[0].order_id
    assert kiosk.pickup(locker_id, key, "33333333")["order_id"] == placed[1].order_id
    assert repo.live_codes(locker_id) == [], "a collected parcel's code is no longer live"


def test_a_code_matching_two_parcels_opens_neither_and_alerts(
    keys: None, sfn: tuple[LocalStepFunctions, str], capsys: pytest.CaptureFixture[str]
) -> None:
    got = deposited(sfn)
    locker_id, order_id = got["locker_id"], got["order"].order_id
    [code] = sealed_codes(order_id)
    repo = bootstrap.locker_repository()
    [live] = repo.live_codes(locker_id)
    tx = Transaction()  # a state the service never writes: the same code live twice
    repo.claim_code(tx, replace(live, key="0" * 64, order_id="ord_other"))
    tx.commit()
    capsys.readouterr()

    with pytest.raises(PickupRefused):
        kiosk_with(repo).pickup(locker_id, got["key"], code)

    assert capsys.readouterr().out.count('"Name":"PickupCodeClashes"') == 1
    held = repo.parcel(locker_id, order_id)
    assert held is not None and held.state is ParcelState.DEPOSITED


def _driver_deposit(sfn: tuple[LocalStepFunctions, str], parcels: int) -> dict[str, object]:
    """A home order of `parcels` S parcels, planned, that its driver brings to a 99-door locker."""
    merchant = tenant(vehicles=1, capacity=200)
    locker_id, key = locker_with(merchant.depot_id, *["S"] * 99)
    placed = place(merchant, 1, parcels=[{"weight_kg": 0.5, "size": "S"}] * parcels)
    run = run_to_end(sfn, merchant.depot_id)
    [route] = run["routes"]
    token = route["driver_token"]  # as the run hands it to the driver
    return {"locker_id": locker_id, "key": key, "order_id": placed.order_id, "token": token}


def test_an_order_too_big_for_one_locker_transaction_is_refused_whole(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = _driver_deposit(sfn, 120)
    locker_id, order_id = str(got["locker_id"]), str(got["order_id"])

    with pytest.raises(TooManyParcels) as refused:
        bootstrap.locker_kiosk().deposit(locker_id, str(got["token"]), order_id)

    assert "120 parcels" in refused.value.message and "at most 90" in refused.value.message
    repo = bootstrap.locker_repository()
    assert order(order_id).status is OrderStatus.PLANNED
    assert {c.state for c in repo.compartments(locker_id)} == {"free"}
    assert repo.parcel(locker_id, order_id) is None and repo.live_codes(locker_id) == []


def test_ninety_parcels_go_in_and_come_out_in_one_transaction_each(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = _driver_deposit(sfn, 90)
    locker_id, order_id = str(got["locker_id"]), str(got["order_id"])
    kiosk = bootstrap.locker_kiosk()

    answer = kiosk.deposit(locker_id, str(got["token"]), order_id)
    [code] = sealed_codes(order_id)
    opened = kiosk.pickup(locker_id, str(got["key"]), code)

    assert (
        len(answer["compartment_ids"]) == 90
        and opened["compartment_ids"] == answer["compartment_ids"]
    )
    assert order(order_id).status is OrderStatus.COLLECTED
    assert {c.state for c in bootstrap.locker_repository().compartments(locker_id)} == {"free"}


def _finished(repo: LockerRepository, locker_id: str, like_order: str, n: int) -> list[str]:
    """`n` parcels collected from the locker in the last days (what the sweep must not read),
    shaped like the one of `like_order`."""
    held = repo.parcel(locker_id, like_order)
    assert held is not None
    ids = [f"ord_done{locker_id[-6:]}{k:03d}" for k in range(n)]
    for order_id in ids:
        tx = Transaction()
        done = replace(
            held, order_id=order_id, state=ParcelState.COLLECTED, code_salt="", code_hash=""
        )
        repo.put_parcel(tx, replace(done, code_key=""))
        tx.commit()
    return ids


def test_the_sweep_reads_only_what_is_due(keys: None, sfn: tuple[LocalStepFunctions, str]) -> None:
    got = deposited(sfn)
    locker_id, order_id = got["locker_id"], got["order"].order_id
    repo = bootstrap.locker_repository()
    finished = _finished(repo, locker_id, order_id, 30)

    with recorded_reads() as reads:
        bootstrap.locker_sweep().sweep(time.time() + 73 * 3600)

    assert order(order_id).status is OrderStatus.RETURNED
    seen = " ".join(r.text() for r in reads)
    assert not any(done in seen for done in finished), "no finished parcel is read"
    assert "PARCEL#" not in " ".join(r.text() for r in reads if r.operation == "Query")
    index = [r for r in reads if r.operation == "Query"]
    assert index and all("LOCKER_DUE" in r.text() for r in index), "only the due index"


def test_the_locker_search_reads_the_doors_of_ten_lockers_at_most(keys: None) -> None:
    merchant = tenant(vehicles=0)
    repo = bootstrap.locker_repository()
    made = []
    for n in range(NEAR_CANDIDATES + 5):
        locker, _ = bootstrap.locker_admin().create(
            NewLocker(f"Full {n}", 51.5 + 0.001 * n, -0.12, merchant.depot_id, [("M1", "M")])
        )
        tx = Transaction()
        repo.occupy(tx, locker.locker_id, ["M1"], f"ord_in{n}", int(time.time()))
        tx.commit()
        made.append(locker.locker_id)

    with recorded_reads() as reads:
        found = bootstrap.locker_directory().near(51.5, -0.12, merchant.depot_id, ["M"])

    assert found == []
    doors = [r for r in reads if r.operation == "Query" and "COMP#" in r.text()]
    assert len(doors) == NEAR_CANDIDATES, "the nearest ten, then no more"
    assert sum(r.items for r in doors) == NEAR_CANDIDATES
    assert not any(far in r.text() for r in doors for far in made[NEAR_CANDIDATES:])
