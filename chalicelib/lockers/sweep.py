"""The scheduled sweep of parcels waiting in lockers: a reminder a day before the deadline; at
the deadline a return, its doors flagged for the driver the next dispatch run plans. It reads
only what is due (the live codes' index by due time), never the parcels already finished."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from chalicelib.analytics.recorder import FACT_ITEMS, FactRecorder
from chalicelib.domain.errors import ConcurrentUpdate, IllegalTransition
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.lockers import (
    REMINDER_BEFORE,
    Locker,
    LockerParcel,
    ParcelState,
    next_due,
)
from chalicelib.domain.order import TimelineEvent
from chalicelib.domain.times import epoch_s, from_epoch
from chalicelib.lockers.kiosk import check_transaction_size
from chalicelib.store.lockers import LockerRepository, ParcelChanged
from chalicelib.store.orders import Message, OrderRepository
from chalicelib.store.transaction import Transaction

S, P = OrderStatus, ParcelState


class ExpirySweep:
    def __init__(
        self,
        repo: LockerRepository,
        orders: OrderRepository,
        clock: Callable[[], float] = time.time,
        facts: FactRecorder | None = None,
    ) -> None:
        self._repo = repo
        self._orders = orders
        self._clock = clock
        self._facts = facts  # analytics: an expiry's fact, in its transaction

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Remind customers 24 hours before their deadline; at the deadline, the parcel is a
        return: its doors are flagged for a driver and the next dispatch run plans the trip."""
        now_s = int(now if now is not None else self._clock())
        done = {"reminded": 0, "expired": 0}
        reminder_s = REMINDER_BEFORE.total_seconds()
        lockers: dict[str, Locker | None] = {}
        for due in self._repo.due_codes(now_s):
            parcel = self._repo.parcel(due.locker_id, due.order_id)
            if parcel is None or parcel.state is not P.DEPOSITED or parcel.code_key != due.key:
                continue  # collected or rotated since the index was written
            if due.locker_id not in lockers:
                found = self._repo.get(due.locker_id)
                lockers[due.locker_id] = found[0] if found else None
            locker = lockers[due.locker_id]
            if locker is None:
                continue
            deadline = epoch_s(parcel.pickup_by)
            try:
                if deadline <= now_s:
                    self._expire(locker, parcel, now_s)
                    done["expired"] += 1
                elif not parcel.reminded and deadline - now_s <= reminder_s:
                    self._remind(locker, parcel, now_s)
                    done["reminded"] += 1
            except (ParcelChanged, ConcurrentUpdate, IllegalTransition):
                continue  # collected or rotated meanwhile: the next sweep looks again
        return done

    def _remind(self, locker: Locker, parcel: LockerParcel, now: int) -> None:
        order = self._orders.get(parcel.order_id)
        if order is None:
            return
        tx = Transaction()
        self._repo.put_parcel(
            tx,
            replace(parcel, reminded=True),
            expect=(P.DEPOSITED,),
            expect_hash=parcel.code_hash,
        )
        self._repo.code_due(tx, parcel, next_due(epoch_s(parcel.pickup_by), reminded=True))
        at = from_epoch(now)
        message: Message = (
            "order.pickup_reminder",
            {"locker": locker.public(), "pickup_by": parcel.pickup_by},
        )
        check_transaction_size(tx, 1, 1, f"reminding {order.order_id}")
        self._orders.save(
            replace(order, updated_at=at, version=order.version + 1),
            [TimelineEvent(at, order.status, "order.pickup_reminder")],
            expected_version=order.version,
            messages=[message],
            tx=tx,
        )

    def _expire(self, locker: Locker, parcel: LockerParcel, now: int) -> None:
        order = self._orders.get(parcel.order_id)
        if order is None:
            return
        at = from_epoch(now)
        tx = Transaction()
        expired = replace(parcel, state=P.EXPIRED, code_hash="", code_salt="", code_key="")
        self._repo.put_parcel(
            tx,
            expired,
            expect=(P.DEPOSITED,),
            expect_hash=parcel.code_hash,
            expect_pickup_by=parcel.pickup_by,
        )
        self._repo.drop_code(tx, parcel)
        self._repo.flag_for_retrieval(tx, locker.locker_id, parcel.compartment_ids, order.order_id)
        self._repo.count(tx, locker.locker_id, expiries=1)
        moved = order.moved_to(S.RETURNED, at=at)
        facts = self._facts
        check_transaction_size(
            tx, 1, 1 + (FACT_ITEMS if facts else 0), f"expiring {order.order_id}"
        )
        self._orders.save(
            moved,
            [TimelineEvent(at, moved.status, "order.locker_expired")],
            expected_version=order.version,
            messages=[("order.locker_expired", {"locker": locker.public()})],
            tx=tx,
            then=(lambda t: facts.expired(t, order, at, parcel.deposited_at)) if facts else None,
        )
