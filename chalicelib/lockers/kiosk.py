"""At the locker: a driver's deposits and retrievals, a customer's pickup by code (once, at the
right locker, never by guessing: wrong codes lock the kiosk for a while)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib.domain.errors import (
    AuthenticationFailed,
    ConcurrentUpdate,
    Forbidden,
    IllegalTransition,
    LockerFull,
    OrderNotFound,
    TooManyAttempts,
)
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.lockers import (
    LOCKOUT_FAILURES,
    LOCKOUT_FOR,
    LOCKOUT_WINDOW,
    CompartmentState,
    Locker,
    LockerParcel,
    ParcelState,
    allocate,
    is_code_shaped,
    new_pickup_code,
    new_salt,
    parcel_sizes,
)
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent
from chalicelib.domain.tenancy import key_hash
from chalicelib.domain.times import epoch_s, from_epoch, utc_now
from chalicelib.lockers.codes import PickupCodeKeys, code_message
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.store.lockers import CompartmentTaken, LockerRepository, ParcelChanged
from chalicelib.store.orders import OrderRepository
from chalicelib.store.transaction import Transaction

logger = Logger(child=True)

S, P = OrderStatus, ParcelState
DEPOSITABLE = frozenset({S.PLANNED, S.OUT_FOR_DELIVERY})
ATTEMPTS = 3  # re-reads after losing a door or the order to a concurrent write


class PickupRefused(Forbidden):
    """Wrong, used, expired or another locker's code: one answer for all (no hint which)."""

    code = "pickup_refused"

    def __init__(self) -> None:
        super().__init__("this code does not open a compartment at this locker")


class KioskLocked(TooManyAttempts):
    code = "kiosk_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong codes at this locker; try again in {retry_after} s")
        self.retry_after = retry_after


class DriverTokens(Protocol):
    def check(self, route_id: str, token: str | None) -> None: ...


# Told when a parcel was put into, or taken out of, a locker by a route's driver: (route id,
# order id, at). The route's stop is then done and the stops after it re-timed.
StopServed = Callable[[str, str, str], object]


class LockerKiosk:
    def __init__(
        self,
        repo: LockerRepository,
        orders: OrderRepository,
        keys: PickupCodeKeys,
        directory: LockerDirectory,
        tokens: DriverTokens,
        stop_served: StopServed | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._orders = orders
        self._keys = keys
        self._directory = directory
        self._tokens = tokens
        self._stop_served = stop_served
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # -- who is at the locker ------------------------------------------------------------------

    def _kiosk(self, locker_id: str, key: str | None) -> Locker:
        found = self._repo.get(locker_id)
        # The same answer for an unknown locker and a wrong key: a kiosk key opens one locker.
        if found is None or not key or not hmac.compare_digest(key_hash(key), found[1]):
            raise AuthenticationFailed("a valid kiosk key for this locker is required")
        return found[0]

    def _caller(
        self, locker_id: str, credential: str | None, order_id: str
    ) -> tuple[Locker, Order]:
        """The locker and the order, for the locker's kiosk or the order's route's driver."""
        if credential and credential.startswith("drv_"):
            order = self._orders.get(order_id)
            route_id = self._route_of(order)
            if order is None or route_id is None:
                raise AuthenticationFailed("a valid driver token for this order's route is needed")
            self._tokens.check(route_id, credential)
            locker = self._directory.locker(locker_id)
        else:
            locker = self._kiosk(locker_id, credential)
            order = self._orders.get(order_id)
        if order is None or order.depot_id != locker.depot_id:
            raise OrderNotFound(f"no order {order_id} for this locker")
        return locker, order

    def _route_of(self, order: Order | None) -> str | None:
        if order is None:
            return None
        if order.status is S.RETURNED and order.delivery.locker_id:
            parcel = self._repo.parcel(order.delivery.locker_id, order.order_id)
            return parcel.route_id if parcel else None
        return order.route_id

    # -- deposits ------------------------------------------------------------------------------

    def deposit(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]:
        """Put an order's parcel(s) behind doors: the ones reserved for it, else any free ones
        that fit. The order is then in the locker and its customer is sent a fresh pickup code.
        A driver redirecting a home delivery here may too. Idempotent for the same order."""
        locker, order = self._caller(locker_id, credential, order_id)
        at = at or utc_now()
        for _ in range(ATTEMPTS):
            held = self._repo.parcel(locker_id, order_id)
            if order.status is S.IN_LOCKER and held and held.state is P.DEPOSITED:
                self._served(order.route_id, order_id, at)  # if the first try could not say
                return deposited_view(held)  # a retried deposit: the same doors, no new code
            if order.status not in DEPOSITABLE:
                raise IllegalTransition(f"order {order_id} is {order.status}: not to deposit")
            now = self._now()
            compartments = self._repo.compartments(locker_id)
            sizes = parcel_sizes([p.size for p in order.parcels])
            mine = [
                c
                for c in compartments
                if c.order_id == order_id and c.state is CompartmentState.RESERVED
            ]
            others = [c for c in compartments if c.available(now) and c.order_id != order_id]
            chosen = allocate(sizes, mine) or allocate(sizes, mine + others)
            if chosen is None:
                raise self._full(locker, sizes)
            code = new_pickup_code()
            parcel = LockerParcel(
                locker_id=locker_id,
                order_id=order_id,
                depot_id=locker.depot_id,
                compartment_ids=tuple(c.compartment_id for c in chosen),
                state=P.DEPOSITED,
                deposited_at=at,
                pickup_by=from_epoch(now + locker.holding_hours * 3600),
                code_salt=new_salt(),
                code_hash="",
            )
            parcel = replace(parcel, code_hash=self._keys.hash(parcel.code_salt, locker_id, code))
            tx = Transaction()
            self._repo.occupy(tx, locker_id, list(parcel.compartment_ids), order_id, now)
            self._repo.put_parcel(tx, parcel)
            self._repo.count(tx, locker_id, deposits=1)
            moved, events = _into_locker(order, locker, at)
            try:
                self._orders.save(
                    moved,
                    events,
                    expected_version=order.version,
                    messages=[code_message(self._keys, locker, parcel, code)],
                    tx=tx,
                )
            except (CompartmentTaken, ConcurrentUpdate, ParcelChanged):
                order = self._orders.get(order_id) or order
                continue  # another deposit took a door, or the order moved: look again
            if order.delivery.locker_id and order.delivery.locker_id != locker_id:
                # Brought to another locker than planned: the doors held there are let go.
                self._repo.release_reservations(order.delivery.locker_id, order_id)
            self._served(order.route_id, order_id, at)
            logger.info("deposited", extra={"locker_id": locker_id, "order_id": order_id})
            return deposited_view(parcel)
        raise ConcurrentUpdate(f"locker {locker_id} is busy with other deposits; try again")

    def _full(self, locker: Locker, sizes: list[str]) -> LockerFull:
        other = self._directory.near(
            locker.lat, locker.lng, locker.depot_id, sizes, 1, locker.locker_id
        )
        hint = (
            f"; the nearest with room is {other[0]['name']} ({other[0]['locker_id']}, "
            f"{other[0]['distance_m']} m)"
            if other
            else ""
        )
        return LockerFull(f"locker {locker.locker_id} has no free compartment that fits{hint}")

    # -- pickups -------------------------------------------------------------------------------

    def pickup(self, locker_id: str, key: str | None, code: str) -> dict[str, Any]:
        """Open the compartment(s) a pickup code was issued for, once. Wrong, used, expired or
        another locker's code: PickupRefused; 5 of those within 15 minutes lock the kiosk's
        pickups for 15 minutes (KioskLocked), and the operators are alerted."""
        locker = self._kiosk(locker_id, key)
        now = self._now()
        locked = self._repo.locked_until(locker_id)
        if locked > now:
            raise KioskLocked(locked - now)
        match = self._match(locker_id, code, now) if is_code_shaped(code) else None
        if match is not None:
            for _ in range(ATTEMPTS):
                try:
                    return self._collect(locker, match, now)
                except ParcelChanged:
                    break  # collected by a concurrent try of the same code: used
                except ConcurrentUpdate:
                    continue  # the order moved meanwhile (a reminder): the code still holds
            else:  # the right code, but the writes kept colliding: not the customer's fault
                raise ConcurrentUpdate("the locker is busy; try the code again")
        self._failed(locker_id, now)
        raise PickupRefused()

    def _match(self, locker_id: str, code: str, now: int) -> LockerParcel | None:
        # Every live parcel's hash is computed and compared (constant time each), so how long
        # the answer takes says nothing about which parcel, if any, was close.
        found = None
        for parcel in self._repo.parcels(locker_id, P.DEPOSITED):
            if self._keys.matches(parcel.code_salt, locker_id, code, parcel.code_hash):
                found = parcel
        if found is None or epoch_s(found.pickup_by) <= now:
            return None
        return found

    def _collect(self, locker: Locker, parcel: LockerParcel, now: int) -> dict[str, Any]:
        order = self._orders.get(parcel.order_id)
        if order is None:
            raise ParcelChanged(f"order {parcel.order_id} is gone")
        at = from_epoch(self._clock(), "milliseconds")
        tx = Transaction()
        collected = replace(parcel, state=P.COLLECTED, code_hash="", code_salt="")
        self._repo.put_parcel(tx, collected, expect=(P.DEPOSITED,), expect_hash=parcel.code_hash)
        self._repo.vacate(tx, locker.locker_id, parcel.compartment_ids, parcel.order_id)
        dwell = max(0, now - epoch_s(parcel.deposited_at))
        self._repo.count(tx, locker.locker_id, pickups=1, dwell_s_total=dwell)
        moved = order.moved_to(S.COLLECTED, at=at)
        event = TimelineEvent(at, moved.status, "order.collected")
        self._orders.save(
            moved,
            [event],
            expected_version=order.version,
            messages=[("order.collected", {"locker": locker.public()})],
            tx=tx,
        )
        return {
            "order_id": parcel.order_id,
            "compartment_id": parcel.compartment_ids[0],
            "compartment_ids": list(parcel.compartment_ids),
        }

    def _failed(self, locker_id: str, now: int) -> None:
        locked = self._repo.record_failure(
            locker_id,
            now,
            int(LOCKOUT_WINDOW.total_seconds()),
            LOCKOUT_FAILURES,
            int(LOCKOUT_FOR.total_seconds()),
        )
        if locked is not None:
            logger.warning(
                "locker kiosk locked after repeated wrong pickup codes",
                extra={"locker_id": locker_id, "locked_until": locked, "alert": "kiosk_lockout"},
            )
            with single_metric(
                name="KioskLockouts", unit=MetricUnit.Count, value=1, namespace="lastmile"
            ) as metric:
                metric.add_dimension(name="service", value="lastmile")

    # -- retrievals ----------------------------------------------------------------------------

    def retrieve(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]:
        """A driver takes an uncollected (expired) parcel back out: its doors are free again."""
        _, order = self._caller(locker_id, credential, order_id)
        parcel = self._repo.parcel(locker_id, order_id)
        if parcel is None:
            raise OrderNotFound(f"order {order_id} is not in locker {locker_id}")
        if parcel.state is P.RETRIEVED:
            self._served(parcel.route_id, order_id, at or utc_now())
            return {"order_id": order_id, "compartment_ids": list(parcel.compartment_ids)}
        if parcel.state not in (P.EXPIRED, P.RETRIEVAL_PLANNED):
            raise IllegalTransition(f"the parcel of {order_id} is {parcel.state}: not to retrieve")
        at = at or utc_now()
        tx = Transaction()
        self._repo.put_parcel(
            tx, replace(parcel, state=P.RETRIEVED), expect=(P.EXPIRED, P.RETRIEVAL_PLANNED)
        )
        self._repo.vacate(tx, locker_id, parcel.compartment_ids, order_id)
        event = TimelineEvent(at, order.status, "order.retrieved_from_locker")
        self._orders.save(
            replace(order, updated_at=at, version=order.version + 1),
            [event],
            expected_version=order.version,
            tx=tx,
        )
        self._served(parcel.route_id, order_id, at)
        return {"order_id": order_id, "compartment_ids": list(parcel.compartment_ids)}

    def _served(self, route_id: str | None, order_id: str, at: str) -> None:
        """Tell the route its stop is served. The parcel is in (or out of) the locker already:
        a failure here must not turn that into an error; a retried call says it again."""
        if self._stop_served is None or not route_id:
            return
        try:
            self._stop_served(route_id, order_id, at)
        except (ConcurrentUpdate, OrderNotFound) as exc:
            logger.warning(
                "route not told of a locker stop served; the next event re-times it",
                extra={"route_id": route_id, "order_id": order_id, "error": str(exc)},
            )


def deposited_view(parcel: LockerParcel) -> dict[str, Any]:
    """A deposit's answer: the doors the parcel is behind and its deadline."""
    return {
        "order_id": parcel.order_id,
        "compartment_id": parcel.compartment_ids[0],
        "compartment_ids": list(parcel.compartment_ids),
        "pickup_by": parcel.pickup_by,
    }


def _into_locker(order: Order, locker: Locker, at: str) -> tuple[Order, list[TimelineEvent]]:
    """The order in the locker (out for delivery first, if the driver never said so); a home
    delivery the driver brought here is a locker delivery from now on."""
    events = []
    if order.status is S.PLANNED:
        order = order.moved_to(S.OUT_FOR_DELIVERY, at=at)
        events.append(TimelineEvent(at, order.status, "order.out_for_delivery"))
    moved = order.moved_to(S.IN_LOCKER, at=at)
    moved = replace(
        moved,
        delivery=Delivery(DeliveryType.LOCKER, locker.locker_id, order.delivery.window),
        eta=None,
    )
    events.append(TimelineEvent(at, moved.status, "order.in_locker", f"locker: {locker.name}"))
    return moved, events
