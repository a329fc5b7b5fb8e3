"""The customer's locker choices from the tracking page: another locker instead (or home), a
new pickup code, the one extension of the pickup time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib.domain.errors import ConcurrentUpdate, Conflict
from chalicelib.domain.lifecycle import EDITABLE, OrderStatus
from chalicelib.domain.lockers import (
    EXTENSION_HOURS,
    MAX_LOCKER_PARCELS,
    MAX_RESENDS,
    Locker,
    LockerParcel,
    ParcelState,
    live_code,
    new_pickup_code,
    new_salt,
    parcel_sizes,
)
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent
from chalicelib.domain.times import epoch_s, from_epoch, iso_z, parse_iso
from chalicelib.lockers.codes import PickupCodeKeys, code_message
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.lockers.kiosk import check_transaction_size
from chalicelib.store.lockers import CodeTaken, LockerRepository
from chalicelib.store.orders import Message, OrderRepository
from chalicelib.store.transaction import Transaction

S, P = OrderStatus, ParcelState
DRAWS = 3  # codes drawn for one rotation before giving up (each clash is 1 in 10^6)
CHOICE_RADIUS_M = 10_000  # lockers offered to a customer are at most this far from them


class NotOffered(Conflict):
    code = "not_offered"


class LockerChoices:
    def __init__(
        self,
        repo: LockerRepository,
        orders: OrderRepository,
        keys: PickupCodeKeys,
        directory: LockerDirectory,
        clock: Callable[[], float] = time.time,
        codes: Callable[[], str] = new_pickup_code,
    ) -> None:
        self._repo = repo
        self._orders = orders
        self._keys = keys
        self._directory = directory
        self._clock = clock
        self._codes = codes

    def locker(self, locker_id: str) -> Locker:
        return self._directory.locker(locker_id)

    def held_parcel(self, order: Order) -> LockerParcel | None:
        if order.status is not S.IN_LOCKER or not order.delivery.locker_id:
            return None
        parcel = self._repo.parcel(order.delivery.locker_id, order.order_id)
        return parcel if parcel and parcel.state is P.DEPOSITED else None

    # -- a new code, more time -----------------------------------------------------------------

    def resend_code(self, order: Order) -> str:
        """A new code for a parcel in a locker (the old one stops working); the new deadline."""
        return self._rotate(order, extend=False)

    def check_extension(self, order: Order) -> None:
        """NotOffered unless `extend` would give this parcel more time now."""
        parcel = self.held_parcel(order)
        if parcel is None:
            raise NotOffered("the parcel is not waiting in a locker")
        if epoch_s(parcel.pickup_by) <= int(self._clock()):
            raise NotOffered("the pickup time has passed; the parcel goes back to the sender")
        if parcel.extended:
            raise NotOffered("the pickup time was already extended once")

    def check_choice(self, order: Order, locker_id: str) -> None:
        """NotOffered unless `choose(order, locker_id)` would switch it to that locker now."""
        if not self.can_choose(order):
            raise NotOffered(f"the parcel is {order.status}: where it goes can no longer change")
        if locker_id not in {c["locker_id"] for c in self.choices(order)}:
            raise NotOffered("that locker is not one offered for this parcel")

    def extend(self, order: Order) -> str:
        """Once per parcel: 48 more hours, with a new code; the new deadline."""
        return self._rotate(order, extend=True)

    def _rotate(self, order: Order, *, extend: bool) -> str:
        parcel = self.held_parcel(order)
        if parcel is None:
            raise NotOffered("the parcel is not waiting in a locker")
        if epoch_s(parcel.pickup_by) <= int(self._clock()):
            raise NotOffered("the pickup time has passed; the parcel goes back to the sender")
        if extend and parcel.extended:
            raise NotOffered("the pickup time was already extended once")
        if not extend and parcel.resends >= MAX_RESENDS:
            raise NotOffered("a new code was already sent several times; contact the sender")
        locker = self.locker(parcel.locker_id)
        pickup_by = parcel.pickup_by
        if extend:
            pickup_by = iso_z(parse_iso(parcel.pickup_by) + timedelta(hours=EXTENSION_HOURS))
        kind = "extend" if extend else "resend"
        for _ in range(DRAWS):
            code, salt = self._codes(), new_salt()
            key = self._keys.key(locker.locker_id, code)
            if key == parcel.code_key:
                continue  # the same digits again are not a new code
            rotated = replace(
                parcel,
                code_salt=salt,
                code_hash=self._keys.hash(salt, locker.locker_id, code),
                code_key=key,
                pickup_by=pickup_by,
                extended=parcel.extended or extend,
                reminded=parcel.reminded and not extend,
                resends=parcel.resends + (0 if extend else 1),
            )
            tx = Transaction()
            self._repo.put_parcel(tx, rotated, expect=(P.DEPOSITED,), expect_hash=parcel.code_hash)
            self._repo.drop_code(tx, parcel)
            self._repo.claim_code(tx, live_code(rotated, epoch_s(pickup_by)))
            at = from_epoch(self._clock(), "milliseconds")
            event = TimelineEvent(at, order.status, f"order.pickup_code_{kind}")
            messages: list[Message] = [
                code_message(self._keys, locker, rotated, code, rotated=kind)
            ]
            check_transaction_size(tx, 1, len(messages), f"a new code for {order.order_id}")
            try:
                self._orders.save(
                    replace(order, updated_at=at, version=order.version + 1),
                    [event],
                    expected_version=order.version,
                    messages=messages,
                    tx=tx,
                )
            except CodeTaken:
                continue  # live at this locker already: draw again
            return pickup_by
        raise ConcurrentUpdate("no new pickup code could be drawn; try again")

    # -- another locker, or home ---------------------------------------------------------------

    def choices(self, order: Order) -> list[dict[str, Any]]:
        """The lockers a customer may switch this order to (nearest first, with room)."""
        if not self.can_choose(order) or len(order.parcels) > MAX_LOCKER_PARCELS:
            return []  # more parcels than one deposit takes: no locker to offer
        return self._nearest(order, limit=3)

    def alternative(self, order: Order) -> dict[str, Any] | None:
        """The nearest other locker with room for the order (its chosen one was full)."""
        found = self._nearest(order, limit=1)
        return found[0] if found else None

    def _nearest(self, order: Order, *, limit: int) -> list[dict[str, Any]]:
        if order.address.lat is None or order.address.lng is None:
            return []
        return self._directory.near(
            order.address.lat,
            order.address.lng,
            order.depot_id,
            parcel_sizes([p.size for p in order.parcels]),
            limit=limit,
            exclude=order.delivery.locker_id,
            radius_m=CHOICE_RADIUS_M,
        )

    @staticmethod
    def can_choose(order: Order) -> bool:
        """Where it goes can change while it waits to be planned (e.g. after a failed attempt)."""
        return order.status in EDITABLE

    def choose(self, order: Order, locker_id: str | None) -> Order:
        """Deliver to this locker instead (None: to the address after all)."""
        if not self.can_choose(order):
            raise NotOffered(f"the parcel is {order.status}: where it goes can no longer change")
        if locker_id is None:
            if order.delivery.type is DeliveryType.HOME:
                return order  # home already: nothing to change
            delivery = replace(order.delivery, type=DeliveryType.HOME, locker_id=None)
            note = "home delivery chosen"
        else:
            if locker_id not in {c["locker_id"] for c in self.choices(order)}:
                raise NotOffered("that locker is not one offered for this parcel")
            # A locker takes parcels all day: a window meant for a doorstep does not apply.
            delivery = Delivery(DeliveryType.LOCKER, locker_id)
            note = f"locker {self.locker(locker_id).name} chosen"
        at = from_epoch(self._clock(), "milliseconds")
        changed = replace(
            order,
            delivery=delivery,
            updated_at=at,
            version=order.version + 1,
            unassigned_reason=None,
        )
        event = TimelineEvent(at, order.status, "order.delivery_changed", note)
        self._orders.save(changed, [event], expected_version=order.version)
        if order.delivery.locker_id and order.delivery.locker_id != locker_id:
            self._repo.release_reservations(order.delivery.locker_id, order.order_id)
        return changed
