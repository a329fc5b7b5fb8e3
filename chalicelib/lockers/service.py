"""The locker service: lockers and their kiosks, deposits into compartments, pickups by code
(once, at the right locker, never by guessing), the customer's choices, and the expiry job."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib.domain.errors import (
    AuthenticationFailed,
    ConcurrentUpdate,
    Conflict,
    DepotNotFound,
    Forbidden,
    IllegalTransition,
    LockerFull,
    LockerNotFound,
    OrderNotFound,
    TooManyAttempts,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import EDITABLE, OrderStatus
from chalicelib.domain.lockers import (
    EXTENSION_HOURS,
    LOCKOUT_FAILURES,
    LOCKOUT_FOR,
    LOCKOUT_WINDOW,
    MAX_RESENDS,
    REMINDER_BEFORE,
    Compartment,
    CompartmentState,
    Locker,
    LockerAddress,
    LockerParcel,
    OpeningHours,
    ParcelState,
    allocate,
    distance_m,
    free_by_size,
    is_code_shaped,
    iso_utc,
    new_kiosk_key,
    new_locker_id,
    new_pickup_code,
    new_salt,
    parcel_sizes,
)
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent, utc_now
from chalicelib.domain.tenancy import key_hash
from chalicelib.lockers.codes import PickupCodeKeys
from chalicelib.store.dynamo import Transaction
from chalicelib.store.lockers import CompartmentTaken, LockerRepository, ParcelChanged
from chalicelib.store.orders import Message, OrderRepository

logger = Logger(child=True)

S, P = OrderStatus, ParcelState
DEPOSITABLE = frozenset({S.PLANNED, S.OUT_FOR_DELIVERY})
ATTEMPTS = 3  # re-reads after losing a door or the order to a concurrent write
NEAR_LIMIT = 5
CHOICE_RADIUS_M = 10_000  # lockers offered to a customer are at most this far from them


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


class NotOffered(Conflict):
    code = "not_offered"


@dataclass(frozen=True)
class NewLocker:
    name: str
    lat: float
    lng: float
    depot_id: str
    compartments: list[tuple[str, str]]  # (compartment id, size)
    locker_id: str | None = None
    address: LockerAddress | None = None
    opening_hours: tuple[OpeningHours, ...] | None = None
    holding_hours: int = 72


class Depots(Protocol):
    def depot(self, depot_id: str) -> Any: ...


class DriverTokens(Protocol):
    def check(self, route_id: str, token: str | None) -> None: ...


# Told when a parcel was put into, or taken out of, a locker by a route's driver: (route id,
# order id, at). The route's stop is then done and the stops after it re-timed.
StopServed = Callable[[str, str, str], object]


class LockerService:
    def __init__(
        self,
        repo: LockerRepository,
        orders: OrderRepository,
        keys: PickupCodeKeys,
        depots: Depots,
        tokens: DriverTokens,
        stop_served: StopServed | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._orders = orders
        self._keys = keys
        self._depots = depots
        self._tokens = tokens
        self._stop_served = stop_served
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def _stamp(self) -> str:
        """Now, to the millisecond, as timelines and outbox keys have it (they sort by it)."""
        moment = datetime.fromtimestamp(self._clock(), UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _iso(self, epoch: float | None = None) -> str:
        return iso_utc(datetime.fromtimestamp(self._now() if epoch is None else epoch, UTC))

    # -- lockers (operator) ------------------------------------------------------------------

    def create(self, new: NewLocker) -> tuple[Locker, str]:
        """A locker and its compartments; its kiosk key is returned once (only a hash is kept)."""
        try:
            self._depots.depot(new.depot_id)
        except DepotNotFound as exc:
            raise ValidationFailed(f"depot_id: no depot {new.depot_id}", field="depot_id") from exc
        ids = [cid for cid, _ in new.compartments]
        if len(set(ids)) != len(ids):
            raise ValidationFailed("compartments: compartment_id must be unique")
        locker = Locker(
            locker_id=new.locker_id or new_locker_id(),
            name=new.name,
            lat=new.lat,
            lng=new.lng,
            depot_id=new.depot_id,
            created_at=utc_now(),
            address=new.address,
            holding_hours=new.holding_hours,
            **({"opening_hours": new.opening_hours} if new.opening_hours else {}),
        )
        kiosk_key = new_kiosk_key()
        compartments = [Compartment(cid, size) for cid, size in new.compartments]
        self._repo.create(locker, key_hash(kiosk_key), compartments)
        return locker, kiosk_key

    def locker(self, locker_id: str) -> Locker:
        found = self._repo.get(locker_id)
        if found is None:
            raise LockerNotFound(f"no locker {locker_id}")
        return found[0]

    def view(self, locker_id: str) -> dict[str, Any]:
        """The operator's view: compartments by size and state, occupancy, dwell, expiry rate."""
        found = self._repo.get(locker_id)
        if found is None:
            raise LockerNotFound(f"no locker {locker_id}")
        locker, _, figures = found
        now = self._now()
        compartments = self._repo.compartments(locker_id)
        by_size: dict[str, dict[str, int]] = {}
        for c in compartments:
            counts = by_size.setdefault(c.size, {})
            counts[c.state_at(now)] = counts.get(c.state_at(now), 0) + 1
        held = sum(1 for c in compartments if not c.available(now))
        return {
            **locker.public(),
            "depot_id": locker.depot_id,
            "holding_hours": locker.holding_hours,
            "compartments": [
                {
                    "compartment_id": c.compartment_id,
                    "size": c.size,
                    "state": c.state_at(now),
                    **({"order_id": c.order_id} if c.order_id and not c.available(now) else {}),
                }
                for c in sorted(compartments, key=lambda c: c.compartment_id)
            ],
            "figures": {
                "by_size": by_size,
                "occupancy": round(held / len(compartments), 3) if compartments else 0.0,
                **figures.view(),
            },
        }

    def near(
        self,
        lat: float,
        lng: float,
        depot_id: str,
        sizes: list[str],
        limit: int = NEAR_LIMIT,
        exclude: str | None = None,
        radius_m: float | None = None,
    ) -> list[dict[str, Any]]:
        """The depot's lockers nearest (lat, lng) with a free compartment for every parcel."""
        now = self._now()
        found = []
        lockers = sorted(
            (lk for lk in self._repo.for_depot(depot_id) if lk.locker_id != exclude),
            key=lambda lk: distance_m(lat, lng, lk.lat, lk.lng),
        )
        for locker in lockers:
            away = distance_m(lat, lng, locker.lat, locker.lng)
            if radius_m is not None and away > radius_m:
                break
            doors = self._repo.compartments(locker.locker_id)
            if allocate(sizes, [c for c in doors if c.available(now)]) is None:
                continue
            free = free_by_size(doors, now)
            found.append({**locker.public(), "distance_m": round(away), "free": free})
            if len(found) >= limit:
                break
        return found

    # -- the kiosk ---------------------------------------------------------------------------

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
            locker = self.locker(locker_id)
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
                return _deposited(held)  # a retried deposit: the same doors, no new code
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
                pickup_by=self._iso(now + locker.holding_hours * 3600),
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
                    messages=[self._code_message(locker, parcel, code)],
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
            return _deposited(parcel)
        raise ConcurrentUpdate(f"locker {locker_id} is busy with other deposits; try again")

    def _full(self, locker: Locker, sizes: list[str]) -> LockerFull:
        other = self.near(locker.lat, locker.lng, locker.depot_id, sizes, 1, locker.locker_id)
        hint = (
            f"; the nearest with room is {other[0]['name']} ({other[0]['locker_id']}, "
            f"{other[0]['distance_m']} m)"
            if other
            else ""
        )
        return LockerFull(f"locker {locker.locker_id} has no free compartment that fits{hint}")

    def _code_message(
        self, locker: Locker, parcel: LockerParcel, code: str, rotated: str | None = None
    ) -> Message:
        extra: dict[str, Any] = {
            "locker": locker.public(),
            "pickup_by": parcel.pickup_by,
            "pickup_code_sealed": self._keys.seal(code, parcel.order_id),
        }
        if rotated:
            extra["rotated"] = rotated
        return ("order.in_locker", extra)

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
        if found is None or _epoch(found.pickup_by) <= now:
            return None
        return found

    def _collect(self, locker: Locker, parcel: LockerParcel | None, now: int) -> dict[str, Any]:
        assert parcel is not None
        order = self._orders.get(parcel.order_id)
        if order is None:
            raise ParcelChanged(f"order {parcel.order_id} is gone")
        at = self._stamp()
        tx = Transaction()
        collected = replace(parcel, state=P.COLLECTED, code_hash="", code_salt="")
        self._repo.put_parcel(tx, collected, expect=(P.DEPOSITED,), expect_hash=parcel.code_hash)
        self._repo.vacate(tx, locker.locker_id, parcel.compartment_ids, parcel.order_id)
        dwell = max(0, now - _epoch(parcel.deposited_at))
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

    # -- the customer's choices (from the tracking page) ---------------------------------------

    def held_parcel(self, order: Order) -> LockerParcel | None:
        if order.status is not S.IN_LOCKER or not order.delivery.locker_id:
            return None
        parcel = self._repo.parcel(order.delivery.locker_id, order.order_id)
        return parcel if parcel and parcel.state is P.DEPOSITED else None

    def resend_code(self, order: Order) -> str:
        """A new code for a parcel in a locker (the old one stops working); the new deadline."""
        return self._rotate(order, extend=False)

    def extend(self, order: Order) -> str:
        """Once per parcel: 48 more hours, with a new code; the new deadline."""
        return self._rotate(order, extend=True)

    def _rotate(self, order: Order, *, extend: bool) -> str:
        parcel = self.held_parcel(order)
        if parcel is None:
            raise NotOffered("the parcel is not waiting in a locker")
        if _epoch(parcel.pickup_by) <= self._now():
            raise NotOffered("the pickup time has passed; the parcel goes back to the sender")
        if extend and parcel.extended:
            raise NotOffered("the pickup time was already extended once")
        if not extend and parcel.resends >= MAX_RESENDS:
            raise NotOffered("a new code was already sent several times; contact the sender")
        locker = self.locker(parcel.locker_id)
        code = new_pickup_code()
        salt = new_salt()
        pickup_by = parcel.pickup_by
        if extend:
            pickup_by = iso_utc(
                datetime.fromisoformat(parcel.pickup_by.replace("Z", "+00:00"))
                + timedelta(hours=EXTENSION_HOURS)
            )
        rotated = replace(
            parcel,
            code_salt=salt,
            code_hash=self._keys.hash(salt, locker.locker_id, code),
            pickup_by=pickup_by,
            extended=parcel.extended or extend,
            reminded=parcel.reminded and not extend,
            resends=parcel.resends + (0 if extend else 1),
        )
        tx = Transaction()
        self._repo.put_parcel(tx, rotated, expect=(P.DEPOSITED,), expect_hash=parcel.code_hash)
        at = self._stamp()
        kind = "extend" if extend else "resend"
        event = TimelineEvent(at, order.status, f"order.pickup_code_{kind}")
        self._orders.save(
            replace(order, updated_at=at, version=order.version + 1),
            [event],
            expected_version=order.version,
            messages=[self._code_message(locker, rotated, code, rotated=kind)],
            tx=tx,
        )
        return pickup_by

    def choices(self, order: Order) -> list[dict[str, Any]]:
        """The lockers a customer may switch this order to (nearest first, with room)."""
        if not self.can_choose(order) or order.address.lat is None or order.address.lng is None:
            return []
        return self.near(
            order.address.lat,
            order.address.lng,
            order.depot_id,
            parcel_sizes([p.size for p in order.parcels]),
            limit=3,
            exclude=order.delivery.locker_id,
            radius_m=CHOICE_RADIUS_M,
        )

    def alternative(self, order: Order) -> dict[str, Any] | None:
        """The nearest other locker with room for the order (its chosen one was full)."""
        if order.address.lat is None or order.address.lng is None:
            return None
        found = self.near(
            order.address.lat,
            order.address.lng,
            order.depot_id,
            parcel_sizes([p.size for p in order.parcels]),
            limit=1,
            exclude=order.delivery.locker_id,
            radius_m=CHOICE_RADIUS_M,
        )
        return found[0] if found else None

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
        at = self._stamp()
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

    # -- the scheduled job -------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Remind customers 24 hours before their deadline; at the deadline, the parcel is a
        return: its doors are flagged for a driver and the next dispatch run plans the trip."""
        now_s = int(now if now is not None else self._now())
        done = {"reminded": 0, "expired": 0}
        reminder_s = REMINDER_BEFORE.total_seconds()
        for locker in self._repo.for_depot(None):
            for parcel in self._repo.parcels(locker.locker_id, P.DEPOSITED):
                deadline = _epoch(parcel.pickup_by)
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
        at = self._iso(now)
        message = (
            "order.pickup_reminder",
            {"locker": locker.public(), "pickup_by": parcel.pickup_by},
        )
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
        at = self._iso(now)
        tx = Transaction()
        expired = replace(parcel, state=P.EXPIRED, code_hash="", code_salt="")
        self._repo.put_parcel(
            tx,
            expired,
            expect=(P.DEPOSITED,),
            expect_hash=parcel.code_hash,
            expect_pickup_by=parcel.pickup_by,
        )
        self._repo.flag_for_retrieval(tx, locker.locker_id, parcel.compartment_ids, order.order_id)
        self._repo.count(tx, locker.locker_id, expiries=1)
        moved = order.moved_to(S.RETURNED, at=at)
        self._orders.save(
            moved,
            [TimelineEvent(at, moved.status, "order.locker_expired")],
            expected_version=order.version,
            messages=[("order.locker_expired", {"locker": locker.public()})],
            tx=tx,
        )


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _deposited(parcel: LockerParcel) -> dict[str, Any]:
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
