"""Lockers in the main table, one partition each: the profile (with running figures), one item
per compartment (so a reservation or a deposit is a conditional write on exactly the doors it
takes), one item per parcel held (its pickup code's salt and hash), one per live pickup code
(unique in the locker, and the sweep's index of what is due), and the kiosk's lockout."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import AlreadyExists, DomainError
from chalicelib.domain.lockers import (
    Compartment,
    CompartmentState,
    LiveCode,
    Locker,
    LockerAddress,
    LockerFigures,
    LockerParcel,
    OpeningHours,
    ParcelState,
)
from chalicelib.store.mapping import fields_of, read_as
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.lockers import (
    CompartmentItem,
    KioskLockoutItem,
    LiveCodeItem,
    LockerAddressAttribute,
    LockerItem,
    LockerParcelItem,
    OpeningHoursAttribute,
)
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, condition_failed

C, P = CompartmentState, ParcelState
KEEP_FINISHED = timedelta(days=30)  # a collected or retrieved parcel's item stays (figures, audit)
ALL_LOCKERS = "LOCKERS"
FIGURES = tuple(LockerFigures.__dataclass_fields__)


class CompartmentTaken(DomainError):
    """A door this write counted on was taken by another write first."""


class ParcelChanged(DomainError):
    """The parcel is no longer in the state this write expected (collected, expired, rotated)."""


class CodeTaken(DomainError):
    """Another live code of the locker has the same key: the same digits (draw again)."""


class AttemptNotCounted(DomainError):
    """The kiosk's attempt could not be counted (its lockout item kept changing, or DynamoDB
    throttled it): the code is not looked at."""


@dataclass(frozen=True)
class KioskAttempts:
    """The kiosk's current window as one counted attempt left it."""

    attempts: int  # counted in the window so far, this one included
    window_ends: int  # epoch seconds
    locked_until: int  # epoch seconds, 0 if never locked
    lockouts: int


def locker_pk(locker_id: str) -> str:
    return f"LOCKER#{locker_id}"


_PROFILE, _LOCKOUT = "PROFILE", "LOCKOUT"
DUE = "LOCKER_DUE"  # gsi1 key of every locker's live codes, by when they are next due


def _compartment_sk(compartment_id: str) -> str:
    return f"COMP#{compartment_id}"


def _parcel_sk(order_id: str) -> str:
    return f"PARCEL#{order_id}"


def _code_sk(key: str) -> str:
    return f"CODE#{key}"


def _due_sk(due: int, locker_id: str, order_id: str) -> str:
    return f"{due:011d}#{locker_id}#{order_id}"


def _retrieval_index(depot_id: str) -> str:
    return f"DEPOT#{depot_id}#locker_{P.EXPIRED}"


def _locker(item: LockerItem) -> Locker:
    address = item.address
    return Locker(
        locker_id=item.locker_id,
        name=item.name,
        lat=float(item.lat),
        lng=float(item.lng),
        depot_id=item.depot_id,
        created_at=item.created_at,
        address=LockerAddress(address.line1, address.city, address.postcode) if address else None,
        opening_hours=tuple(
            OpeningHours(tuple(h.days), h.open, h.close) for h in item.opening_hours
        ),
        holding_hours=int(item.holding_hours),
    )


def _compartment(item: CompartmentItem) -> Compartment:
    return Compartment(
        compartment_id=item.compartment_id,
        size=item.size,
        state=CompartmentState(item.state),
        order_id=item.order_id,
        reserved_until=None if item.reserved_until is None else int(item.reserved_until),
    )


def _parcel(item: LockerParcelItem) -> LockerParcel:
    return LockerParcel(
        **read_as(LockerParcel, item)
        | {
            "compartment_ids": tuple(item.compartment_ids),
            "state": ParcelState(item.state),
            "reminded": bool(item.reminded),
            "extended": bool(item.extended),
            "resends": int(item.resends or 0),
        }
    )


def _parcel_model(parcel: LockerParcel) -> LockerParcelItem:
    item = LockerParcelItem(
        locker_pk(parcel.locker_id),
        _parcel_sk(parcel.order_id),
        **fields_of(parcel)
        | {"compartment_ids": list(parcel.compartment_ids), "state": str(parcel.state)},
    )
    if parcel.state in (P.EXPIRED, P.RETRIEVAL_PLANNED):
        # Where the next dispatch runs of the depot find the parcels to take back (a planned
        # one is taken again once its run's claim has lapsed).
        item.gsi2pk = _retrieval_index(parcel.depot_id)
        item.gsi2sk = f"{parcel.pickup_by}#{parcel.order_id}"
    if parcel.state in (P.COLLECTED, P.RETRIEVED):
        item.expires_at = KEEP_FINISHED
    return item


def _live_code(item: LiveCodeItem) -> LiveCode:
    return LiveCode(
        locker_id=item.locker_id,
        key=item.sk.removeprefix("CODE#"),
        order_id=item.order_id,
        code_salt=item.code_salt,
        code_hash=item.code_hash,
        due=int(item.due),
    )


def _attempts(item: KioskLockoutItem) -> KioskAttempts:
    return KioskAttempts(
        attempts=int(item.attempts or 0),
        window_ends=int(item.window_ends or 0),
        locked_until=int(item.locked_until or 0),
        lockouts=int(item.lockouts or 0),
    )


_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


@contextmanager
def _throttled_as(error: DomainError) -> Iterator[None]:
    """A write DynamoDB throttled (after the SDK's own retries) raises `error`."""
    try:
        yield
    except UpdateError as exc:
        if exc.cause_response_code not in _THROTTLED:
            raise
        raise error from exc


def _update_if(item: MainItem, actions: Sequence[Action], condition: Condition) -> bool:
    """One conditional update; False when its condition did not hold."""
    try:
        item.update(list(actions), condition=condition)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return False
    return True


_DOOR = CompartmentItem
_HELD = LockerParcelItem


class LockerRepository:
    """Lockers as domain objects in, domain objects out. The methods taking a `Transaction` add
    their writes to the caller's (an order's), to stand or fall with it."""

    # -- lockers ---------------------------------------------------------------------------

    def create(self, locker: Locker, kiosk_key_hash: str, compartments: list[Compartment]) -> None:
        """The locker and all its compartments, all or nothing."""
        address = locker.address
        tx = Transaction()
        tx.put(
            LockerItem(
                locker_pk(locker.locker_id),
                _PROFILE,
                locker_id=locker.locker_id,
                name=locker.name,
                lat=locker.lat,
                lng=locker.lng,
                depot_id=locker.depot_id,
                created_at=locker.created_at,
                address=LockerAddressAttribute(
                    line1=address.line1, city=address.city, postcode=address.postcode
                )
                if address
                else None,
                opening_hours=[
                    OpeningHoursAttribute(days=list(h.days), open=h.open, close=h.close)
                    for h in locker.opening_hours
                ],
                holding_hours=locker.holding_hours,
                kiosk_key_hash=kiosk_key_hash,
                gsi1pk=ALL_LOCKERS,
                gsi1sk=f"{locker.depot_id}#{locker.locker_id}",
            ),
            condition=LockerItem.pk.does_not_exist(),
            on_fail=AlreadyExists(f"locker {locker.locker_id} exists", field="locker_id"),
        )
        for c in compartments:
            tx.put(
                CompartmentItem(
                    locker_pk(locker.locker_id),
                    _compartment_sk(c.compartment_id),
                    compartment_id=c.compartment_id,
                    size=c.size,
                    state=str(C.FREE),
                )
            )
        tx.commit()

    def get(self, locker_id: str) -> tuple[Locker, str, LockerFigures] | None:
        """The locker, its kiosk key's hash and its figures."""
        item = get_one(LockerItem, locker_pk(locker_id), _PROFILE)
        if item is None:
            return None
        figures = LockerFigures(**{k: int(getattr(item, k) or 0) for k in FIGURES})
        return _locker(item), item.kiosk_key_hash, figures

    def for_depot(self, depot_id: str | None) -> list[Locker]:
        """The depot's lockers (None: every locker)."""
        condition = None
        if depot_id is not None:
            condition = LockerItem.gsi1sk.startswith(f"{depot_id}#")
        return [_locker(item) for item in LockerItem.every_locker.query(ALL_LOCKERS, condition)]

    def compartments(self, locker_id: str) -> list[Compartment]:
        found = _DOOR.query(
            locker_pk(locker_id), _DOOR.sk.startswith("COMP#"), consistent_read=True
        )
        return [_compartment(item) for item in found]

    def parcel(self, locker_id: str, order_id: str) -> LockerParcel | None:
        item = get_one(_HELD, locker_pk(locker_id), _parcel_sk(order_id))
        return _parcel(item) if item else None

    # -- writes that go into another object's transaction ----------------------------------

    def _doors(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: Sequence[str],
        actions: Sequence[Action],
        condition: Condition,
        on_fail: Callable[[str], DomainError],
    ) -> None:
        """One conditional update per door, all in `tx`."""
        for cid in compartment_ids:
            door = CompartmentItem(locker_pk(locker_id), _compartment_sk(cid))
            tx.update(door, actions, condition=condition, on_fail=on_fail(cid))

    def _take(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: Sequence[str],
        order_id: str,
        now: int,
        actions: Sequence[Action],
    ) -> None:
        """Doors taken for an order: free ones, its own reservations, or lapsed ones."""
        takeable = (_DOOR.state == str(C.FREE)) | (
            (_DOOR.state == str(C.RESERVED))
            & ((_DOOR.reserved_until < now) | (_DOOR.order_id == order_id))
        )
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            actions,
            takeable,
            lambda cid: CompartmentTaken(f"compartment {cid} of {locker_id} was taken"),
        )

    def reserve(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: list[str],
        order_id: str,
        route_id: str,
        until: int,
        now: int,
    ) -> None:
        """Hold doors for a planned order's parcels until `until` (its route's ETA + grace)."""
        actions = [
            _DOOR.state.set(str(C.RESERVED)),
            _DOOR.order_id.set(order_id),
            _DOOR.route_id.set(route_id),
            _DOOR.reserved_until.set(until),
        ]
        self._take(tx, locker_id, compartment_ids, order_id, now, actions)

    def occupy(
        self, tx: Transaction, locker_id: str, compartment_ids: list[str], order_id: str, now: int
    ) -> None:
        """Doors a parcel is put behind."""
        actions = [
            _DOOR.state.set(str(C.OCCUPIED)),
            _DOOR.order_id.set(order_id),
            _DOOR.reserved_until.remove(),
            _DOOR.route_id.remove(),
        ]
        self._take(tx, locker_id, compartment_ids, order_id, now, actions)

    def vacate(
        self, tx: Transaction, locker_id: str, compartment_ids: tuple[str, ...], order_id: str
    ) -> None:
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            _FREED,
            _DOOR.order_id == order_id,
            lambda cid: ParcelChanged(f"compartment {cid} no longer holds {order_id}"),
        )

    def flag_for_retrieval(
        self, tx: Transaction, locker_id: str, compartment_ids: tuple[str, ...], order_id: str
    ) -> None:
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            [_DOOR.state.set(str(C.AWAITING_RETRIEVAL))],
            (_DOOR.order_id == order_id) & (_DOOR.state == str(C.OCCUPIED)),
            lambda cid: ParcelChanged(f"compartment {cid} no longer holds {order_id}"),
        )

    def put_parcel(
        self,
        tx: Transaction,
        parcel: LockerParcel,
        *,
        expect: tuple[ParcelState, ...] = (),
        expect_hash: str | None = None,
        expect_pickup_by: str | None = None,
    ) -> None:
        """Write the parcel whole; `expect` the states it may be in now (none: it must be new),
        `expect_hash` the code it must still have, `expect_pickup_by` its deadline."""
        condition: Condition
        if expect:
            condition = _HELD.state.is_in(*(str(s) for s in expect))
            if expect_hash is not None:
                condition &= _HELD.code_hash == expect_hash
            if expect_pickup_by is not None:
                condition &= _HELD.pickup_by == expect_pickup_by
        else:
            condition = _HELD.pk.does_not_exist()
        tx.put(
            _parcel_model(parcel),
            condition=condition,
            on_fail=ParcelChanged(f"the parcel of {parcel.order_id} changed meanwhile"),
        )

    def count(self, tx: Transaction, locker_id: str, **added: int) -> None:
        """Add to the locker's running figures (deposits, pickups, expiries, dwell_s_total)."""
        unknown = set(added) - set(FIGURES)
        assert not unknown, f"no locker figures {sorted(unknown)}"
        actions = [getattr(LockerItem, name).add(value) for name, value in added.items()]
        tx.update(LockerItem(locker_pk(locker_id), _PROFILE), actions)

    # -- reservations ----------------------------------------------------------------------

    def release_reservations(
        self, locker_id: str, order_id: str, route_prefix: str | None = None
    ) -> int:
        """Give back the doors held for an order that will not come (cancelled, its run failed:
        then only those its routes, `route_prefix`, held)."""
        released = 0
        for c in self.compartments(locker_id):
            if c.order_id != order_id or c.state is not C.RESERVED:
                continue
            condition = (_DOOR.state == str(C.RESERVED)) & (_DOOR.order_id == order_id)
            if route_prefix is not None:
                condition &= _DOOR.route_id.startswith(route_prefix)
            door = CompartmentItem(locker_pk(locker_id), _compartment_sk(c.compartment_id))
            released += _update_if(door, _FREED, condition)
        return released

    # -- retrievals (expired parcels a dispatch run plans a driver to take back) -------------

    def awaiting_retrieval(self, depot_id: str) -> list[LockerParcel]:
        return [_parcel(i) for i in _HELD.awaiting_retrieval.query(_retrieval_index(depot_id))]

    def claim_retrieval(
        self, parcel: LockerParcel, run_id: str, *, now: int, until: int
    ) -> LockerParcel | None:
        item = LockerParcelItem(locker_pk(parcel.locker_id), _parcel_sk(parcel.order_id))
        # A planned retrieval whose route never came (its lease over) is taken again.
        claimable = _RETRIEVABLE & (
            _HELD.claimed_by.does_not_exist()
            | (_HELD.claimed_until < now)
            | (_HELD.claimed_by == run_id)
        )
        actions = [_HELD.claimed_by.set(run_id), _HELD.claimed_until.set(until)]
        return _parcel(item) if _update_if(item, actions, claimable) else None

    def plan_retrieval(
        self, locker_id: str, order_id: str, run_id: str, route_id: str, until: int
    ) -> str:
        """ "planned" (a retried commit plans it again, the same) or "changed" (retrieved, or
        taken by a later run). The run's claim holds until `until` (the stop's ETA and a
        grace): a route that never comes leaves the parcel, still in the index, for the next
        runs to claim and plan again."""
        item = LockerParcelItem(locker_pk(locker_id), _parcel_sk(order_id))
        actions = [
            _HELD.state.set(str(P.RETRIEVAL_PLANNED)),
            _HELD.route_id.set(route_id),
            _HELD.claimed_until.set(until),
        ]
        planned = _update_if(item, actions, (_HELD.claimed_by == run_id) & _RETRIEVABLE)
        return "planned" if planned else "changed"

    def unclaim_retrieval(self, parcel: LockerParcel, run_id: str) -> str:
        """Undo what `run_id` did to a retrieval (left out, or its run failed): "released" or
        "untouched"."""
        item = LockerParcelItem(locker_pk(parcel.locker_id), _parcel_sk(parcel.order_id))
        actions = [
            _HELD.state.set(str(P.EXPIRED)),
            _HELD.gsi2pk.set(_retrieval_index(parcel.depot_id)),
            _HELD.gsi2sk.set(f"{parcel.pickup_by}#{parcel.order_id}"),
            _HELD.claimed_by.remove(),
            _HELD.claimed_until.remove(),
            _HELD.route_id.remove(),
        ]
        released = _update_if(item, actions, (_HELD.claimed_by == run_id) & _RETRIEVABLE)
        return "released" if released else "untouched"

    # -- live pickup codes ------------------------------------------------------------------

    def claim_code(self, tx: Transaction, code: LiveCode) -> None:
        """Make a code live at its locker, in `tx`: CodeTaken if a live code there has its key
        (the same digits), so no two parcels of a locker are ever issued one code."""
        tx.put(
            LiveCodeItem(
                locker_pk(code.locker_id),
                _code_sk(code.key),
                locker_id=code.locker_id,
                order_id=code.order_id,
                code_salt=code.code_salt,
                code_hash=code.code_hash,
                due=code.due,
                gsi1pk=DUE,
                gsi1sk=_due_sk(code.due, code.locker_id, code.order_id),
            ),
            condition=LiveCodeItem.pk.does_not_exist(),
            on_fail=CodeTaken(f"a live code of locker {code.locker_id} has that key"),
        )

    def drop_code(self, tx: Transaction, parcel: LockerParcel) -> None:
        """The parcel's code is no longer live (collected, expired, replaced), in `tx`."""
        if not parcel.code_key:
            return  # deposited before live codes were kept: nothing to drop
        tx.delete(
            LiveCodeItem(locker_pk(parcel.locker_id), _code_sk(parcel.code_key)),
            condition=LiveCodeItem.order_id == parcel.order_id,
            on_fail=ParcelChanged(f"the code of {parcel.order_id} changed meanwhile"),
        )

    def code_due(self, tx: Transaction, parcel: LockerParcel, due: int) -> None:
        """When the sweep next looks at the parcel's code (its reminder sent: the deadline)."""
        if not parcel.code_key:
            return
        tx.update(
            LiveCodeItem(locker_pk(parcel.locker_id), _code_sk(parcel.code_key)),
            [
                LiveCodeItem.due.set(due),
                LiveCodeItem.gsi1sk.set(_due_sk(due, parcel.locker_id, parcel.order_id)),
            ],
            condition=LiveCodeItem.order_id == parcel.order_id,
            on_fail=ParcelChanged(f"the code of {parcel.order_id} changed meanwhile"),
        )

    def live_codes(self, locker_id: str) -> list[LiveCode]:
        """The locker's live codes: one per parcel waiting in it, so at most one per door."""
        found = LiveCodeItem.query(
            locker_pk(locker_id), LiveCodeItem.sk.startswith("CODE#"), consistent_read=True
        )
        return [_live_code(item) for item in found]

    def due_codes(self, now: int) -> Iterator[LiveCode]:
        """Every locker's live codes due by `now` (a reminder or a deadline), soonest first;
        the index is eventually consistent, so each is checked again where it is written."""
        found = LiveCodeItem.due_codes.query(DUE, LiveCodeItem.gsi1sk < f"{now + 1:011d}")
        return (_live_code(item) for item in found)

    # -- the kiosk's lockout ---------------------------------------------------------------

    def count_attempt(self, locker_id: str, now: int, window_s: int) -> KioskAttempts:
        """Count one pickup attempt before its code is looked at: one ADD in the kiosk's live
        window, or a new window when none is live. Concurrent attempts each count."""
        item = KioskLockoutItem(locker_pk(locker_id), _LOCKOUT)
        # An update writes no discriminator of itself; an older item's TTL is let go (the
        # count must not vanish mid-window).
        common = [
            KioskLockoutItem.entity.set(KioskLockoutItem),
            KioskLockoutItem.expires_at.remove(),
        ]
        live = KioskLockoutItem.window_ends > now
        fresh = [
            KioskLockoutItem.window_ends.set(now + window_s),
            KioskLockoutItem.attempts.set(1),
            *common,
        ]
        with _throttled_as(AttemptNotCounted(f"locker {locker_id}'s attempts are throttled")):
            for _ in range(3):  # each miss means another attempt just opened or closed it
                if _update_if(item, [KioskLockoutItem.attempts.add(1), *common], live):
                    return _attempts(item)
                if _update_if(item, fresh, KioskLockoutItem.window_ends.does_not_exist() | ~live):
                    return _attempts(item)
        raise AttemptNotCounted(f"locker {locker_id}'s attempt window keeps changing")

    def lock(self, locker_id: str, now: int, until: int) -> bool:
        """Lock the kiosk until `until` (its window held open as long); True for the one write
        that locked it, False if it was locked already (one lockout, one alert).
        AttemptNotCounted if DynamoDB throttled it."""
        item = KioskLockoutItem(locker_pk(locker_id), _LOCKOUT)
        actions = [
            KioskLockoutItem.window_ends.set(until),
            KioskLockoutItem.locked_until.set(until),
            KioskLockoutItem.lockouts.add(1),
        ]
        unlocked = KioskLockoutItem.locked_until.does_not_exist() | (
            KioskLockoutItem.locked_until <= now
        )
        with _throttled_as(AttemptNotCounted(f"locker {locker_id}'s lock was throttled")):
            return _update_if(item, actions, unlocked)

    def refund_attempt(self, locker_id: str, window_ends: int) -> bool:
        """Give back a right code's attempt, in the window it was counted in (never a reset:
        one code, one attempt back). AttemptNotCounted if DynamoDB throttled it."""
        item = KioskLockoutItem(locker_pk(locker_id), _LOCKOUT)
        same_window = (KioskLockoutItem.window_ends == window_ends) & (
            KioskLockoutItem.attempts > 0
        )
        with _throttled_as(AttemptNotCounted(f"locker {locker_id}'s refund was throttled")):
            return _update_if(item, [KioskLockoutItem.attempts.add(-1)], same_window)

    def kiosk_attempts(self, locker_id: str) -> KioskAttempts:
        item = get_one(KioskLockoutItem, locker_pk(locker_id), _LOCKOUT)
        return _attempts(item) if item else KioskAttempts(0, 0, 0, 0)


_FREED = [
    CompartmentItem.state.set(str(C.FREE)),
    CompartmentItem.order_id.remove(),
    CompartmentItem.reserved_until.remove(),
    CompartmentItem.route_id.remove(),
]
_RETRIEVABLE = LockerParcelItem.state.is_in(str(P.EXPIRED), str(P.RETRIEVAL_PLANNED))
