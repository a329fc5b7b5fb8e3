"""Lockers in the main table, one partition each: the profile (with running figures), one item
per compartment (so a reservation or a deposit is a conditional write on exactly the doors it
takes), one item per parcel held (its pickup code's salt and hash), and the kiosk's lockout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DomainError
from chalicelib.domain.lockers import (
    Compartment,
    CompartmentState,
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


def locker_pk(locker_id: str) -> str:
    return f"LOCKER#{locker_id}"


_PROFILE, _LOCKOUT = "PROFILE", "LOCKOUT"


def _compartment_sk(compartment_id: str) -> str:
    return f"COMP#{compartment_id}"


def _parcel_sk(order_id: str) -> str:
    return f"PARCEL#{order_id}"


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

    def parcels(self, locker_id: str, state: ParcelState | None = None) -> list[LockerParcel]:
        found = _HELD.query(
            locker_pk(locker_id), _HELD.sk.startswith("PARCEL#"), consistent_read=True
        )
        parcels = [_parcel(item) for item in found]
        return [p for p in parcels if state is None or p.state is state]

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

    # -- the kiosk's lockout ---------------------------------------------------------------

    def locked_until(self, locker_id: str) -> int:
        item = get_one(KioskLockoutItem, locker_pk(locker_id), _LOCKOUT)
        return int(item.locked_until or 0) if item else 0

    def record_failure(
        self, locker_id: str, now: int, window_s: int, limit: int, lock_s: int
    ) -> int | None:
        """Count a failed pickup at the locker; the epoch it is locked until when this failure
        locks it (the limit reached within the window), else None."""
        for _ in range(5):
            item = get_one(KioskLockoutItem, locker_pk(locker_id), _LOCKOUT)
            if item is None:
                item = KioskLockoutItem(locker_pk(locker_id), _LOCKOUT)
            recent = [int(t) for t in item.failures or [] if int(t) > now - window_s]
            recent.append(now)
            locks = len(recent) >= limit
            item.failures = [] if locks else recent
            if locks:
                item.locked_until = now + lock_s
            item.expires_at = datetime.fromtimestamp(now + window_s + lock_s + 86_400, UTC)
            try:
                item.save()  # on the version read: a failure counted meanwhile fails it
            except PutError as exc:
                if not condition_failed(exc):
                    raise
                continue  # count on top of the failure counted meanwhile
            return now + lock_s if locks else None
        raise ConcurrentUpdate(f"locker {locker_id}'s lockout keeps changing")


_FREED = [
    CompartmentItem.state.set(str(C.FREE)),
    CompartmentItem.order_id.remove(),
    CompartmentItem.reserved_until.remove(),
    CompartmentItem.route_id.remove(),
]
_RETRIEVABLE = LockerParcelItem.state.is_in(str(P.EXPIRED), str(P.RETRIEVAL_PLANNED))
