"""At the locker: a driver's deposits and retrievals, a customer's pickup by code (once, at the
right locker, never by guessing: every attempt is counted before its code is looked at, and
wrong codes lock the kiosk for a while)."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib.analytics.recorder import FACT_ITEMS, FactRecorder
from chalicelib.domain.errors import (
    AuthenticationFailed,
    ConcurrentUpdate,
    Conflict,
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
    MAX_LOCKER_PARCELS,
    TRANSACTION_ITEMS,
    CompartmentState,
    Locker,
    LockerParcel,
    ParcelState,
    allocate,
    is_code_shaped,
    live_code,
    new_pickup_code,
    new_salt,
    parcel_sizes,
)
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent
from chalicelib.domain.tenancy import key_hash
from chalicelib.domain.times import epoch_s, from_epoch, utc_now
from chalicelib.lockers.codes import PickupCodeKeys, code_message
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.store.lockers import (
    AttemptNotCounted,
    CodeTaken,
    CompartmentTaken,
    KioskAttempts,
    LockerRepository,
    ParcelChanged,
)
from chalicelib.store.orders import Message, OrderRepository
from chalicelib.store.transaction import Transaction

logger = Logger(child=True)

S, P = OrderStatus, ParcelState
DEPOSITABLE = frozenset({S.PLANNED, S.OUT_FOR_DELIVERY})
ATTEMPTS = 3  # re-reads after losing a door or the order to a concurrent write
# The shape of what dispatch/driver_tokens.py issues ("drv_" and base64url; loose enough for a
# token that also carries its route, day and expiry), checked before the body is read.
DRIVER_TOKEN = re.compile(r"drv_[A-Za-z0-9_.~-]{16,512}")
WINDOW_S, LOCK_S = int(LOCKOUT_WINDOW.total_seconds()), int(LOCKOUT_FOR.total_seconds())


class PickupRefused(Forbidden):
    """Wrong, used, expired or another locker's code: one answer for all (no hint which)."""

    code = "pickup_refused"

    def __init__(self) -> None:
        super().__init__("this code does not open a compartment at this locker")


class KioskLocked(TooManyAttempts):
    code = "kiosk_locked"

    def __init__(self, retry_after: int, why: str = "too many wrong codes at this locker") -> None:
        super().__init__(f"{why}; try again in {retry_after} s")
        self.retry_after = retry_after


class TooManyParcels(Conflict):
    """More parcels than one locker deposit can hold (its doors and one transaction)."""

    code = "too_many_parcels"


def check_transaction_size(tx: Transaction, events: int, messages: int, what: str) -> None:
    """Before an order's save adds its own writes (the order, its events, its messages) to
    `tx`: the whole must stay within one DynamoDB transaction, else a clear refusal, not a 500."""
    size = len(tx) + 1 + events + messages
    if size > TRANSACTION_ITEMS:
        raise TooManyParcels(
            f"{what} needs {size} writes in one transaction; DynamoDB takes {TRANSACTION_ITEMS}"
        )


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
        codes: Callable[[], str] = new_pickup_code,
        facts: FactRecorder | None = None,
    ) -> None:
        self._repo = repo
        self._orders = orders
        self._keys = keys
        self._directory = directory
        self._tokens = tokens
        self._stop_served = stop_served
        self._clock = clock
        self._codes = codes  # where new pickup codes come from (the CSPRNG; a test's own)
        self._facts = facts  # analytics: the facts of each change, in its transaction

    def _now(self) -> int:
        return int(self._clock())

    # -- who is at the locker ------------------------------------------------------------------

    def authenticate_kiosk(self, locker_id: str, key: str | None) -> Locker:
        """The locker whose kiosk key this is, else AuthenticationFailed."""
        found = self._repo.get(locker_id)
        # The same answer for an unknown locker and a wrong key: a kiosk key opens one locker.
        if found is None or not key or not hmac.compare_digest(key_hash(key), found[1]):
            raise AuthenticationFailed("a valid kiosk key for this locker is required")
        return found[0]

    def check_caller(self, locker_id: str, credential: str | None) -> None:
        """Before the request's body is read: a kiosk key must be this locker's; a driver token
        must look like one (whose route it is needs the order the body names)."""
        if credential and credential.startswith("drv_"):
            if not DRIVER_TOKEN.fullmatch(credential):
                raise AuthenticationFailed("a valid driver token for this order's route is needed")
            return
        self.authenticate_kiosk(locker_id, credential)

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
            locker = self.authenticate_kiosk(locker_id, credential)
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
            if len(order.parcels) > MAX_LOCKER_PARCELS:
                raise TooManyParcels(
                    f"order {order_id} has {len(order.parcels)} parcels; one locker deposit "
                    f"takes at most {MAX_LOCKER_PARCELS}"
                )
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
            code, salt = self._codes(), new_salt()
            pickup_by = now + locker.holding_hours * 3600
            parcel = LockerParcel(
                locker_id=locker_id,
                order_id=order_id,
                depot_id=locker.depot_id,
                compartment_ids=tuple(c.compartment_id for c in chosen),
                state=P.DEPOSITED,
                deposited_at=at,
                pickup_by=from_epoch(pickup_by),
                code_salt=salt,
                code_hash=self._keys.hash(salt, locker_id, code),
                code_key=self._keys.key(locker_id, code),
            )
            tx = Transaction()
            self._repo.occupy(tx, locker_id, list(parcel.compartment_ids), order_id, now)
            self._repo.put_parcel(tx, parcel)
            self._repo.claim_code(tx, live_code(parcel, pickup_by))
            self._repo.count(tx, locker_id, deposits=1)
            moved, events = _into_locker(order, locker, at)
            messages: list[Message] = [code_message(self._keys, locker, parcel, code)]
            check_transaction_size(
                tx, len(events), len(messages) + self._fact_items(), f"depositing {order_id}"
            )
            try:
                self._orders.save(
                    moved,
                    events,
                    expected_version=order.version,
                    messages=messages,
                    tx=tx,
                    then=self._deposit_facts(order, at, locker_id),
                )
            except CodeTaken:
                # The digits drawn are live at this locker already: draw again (1 in 10^6 with
                # a hundred parcels waiting), so one code never opens two parcels.
                logger.info("pickup code drawn again", extra={"locker_id": locker_id})
                continue
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

    def _fact_items(self) -> int:
        return FACT_ITEMS if self._facts is not None else 0

    def _deposit_facts(
        self, order: Order, at: str, locker_id: str
    ) -> Callable[[Transaction], None] | None:
        facts = self._facts
        if facts is None:
            return None
        return lambda tx: facts.deposited(tx, order, at, locker_id)

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
        another locker's code: PickupRefused. Every attempt is counted (one atomic ADD) before
        its code is looked at, and only the first 5 of a 15-minute window are looked at: the
        5th refused locks the kiosk's pickups for 15 minutes (KioskLocked), and the operators
        are alerted once. A right code gives its own attempt back."""
        return self.pickup_at(self.authenticate_kiosk(locker_id, key), code)

    def pickup_at(self, locker: Locker, code: str) -> dict[str, Any]:
        """`pickup` at a locker whose kiosk key was checked (`authenticate_kiosk`)."""
        locker_id = locker.locker_id
        now = self._now()
        try:
            seen = self._repo.count_attempt(locker_id, now, WINDOW_S)
        except AttemptNotCounted as exc:
            # Not counted, so not looked at: a guess never gets past an uncounted attempt.
            raise KioskLocked(1, "the locker is busy") from exc
        if seen.locked_until > now:
            raise KioskLocked(seen.locked_until - now)
        if seen.attempts > LOCKOUT_FAILURES:
            # The window's checks are spent (by concurrent guesses, or ones not yet answered).
            raise KioskLocked(max(1, seen.window_ends - now))
        match = self._match(locker_id, code, now) if is_code_shaped(code) else None
        if match is not None:
            for _ in range(ATTEMPTS):
                try:
                    opened = self._collect(locker, match, now)
                except ParcelChanged:
                    break  # collected by a concurrent try of the same code: used
                except ConcurrentUpdate:
                    continue  # the order moved meanwhile (a reminder): the code still holds
                self._refund(locker_id, seen)
                return opened
            else:  # the right code, but the writes kept colliding: not the customer's fault
                self._refund(locker_id, seen)
                raise ConcurrentUpdate("the locker is busy; try the code again")
        if seen.attempts == LOCKOUT_FAILURES:
            self._lock(locker_id, now, seen)
        raise PickupRefused()

    def _match(self, locker_id: str, code: str, now: int) -> LockerParcel | None:
        # Every live code's hash is computed and compared (constant time each), so how long the
        # answer takes says nothing about which parcel, if any, was close. Live codes are unique
        # by construction (claim_code); should one still match two parcels, it opens neither.
        live = self._repo.live_codes(locker_id)
        found = [c for c in live if self._keys.matches(c.code_salt, locker_id, code, c.code_hash)]
        if len(found) > 1:
            logger.error(
                "a pickup code matches several parcels; refused",
                extra={
                    "locker_id": locker_id,
                    "order_ids": [c.order_id for c in found],
                    "alert": "pickup_code_clash",
                },
            )
            _alert("PickupCodeClashes")
            return None
        if not found:
            return None
        parcel = self._repo.parcel(locker_id, found[0].order_id)
        if (
            parcel is None
            or parcel.state is not P.DEPOSITED
            or parcel.code_hash != found[0].code_hash
            or epoch_s(parcel.pickup_by) <= now
        ):
            return None
        return parcel

    def _collect(self, locker: Locker, parcel: LockerParcel, now: int) -> dict[str, Any]:
        order = self._orders.get(parcel.order_id)
        if order is None:
            raise ParcelChanged(f"order {parcel.order_id} is gone")
        at = from_epoch(self._clock(), "milliseconds")
        tx = Transaction()
        collected = replace(parcel, state=P.COLLECTED, code_hash="", code_salt="", code_key="")
        self._repo.put_parcel(tx, collected, expect=(P.DEPOSITED,), expect_hash=parcel.code_hash)
        self._repo.drop_code(tx, parcel)
        self._repo.vacate(tx, locker.locker_id, parcel.compartment_ids, parcel.order_id)
        dwell = max(0, now - epoch_s(parcel.deposited_at))
        self._repo.count(tx, locker.locker_id, pickups=1, dwell_s_total=dwell)
        moved = order.moved_to(S.COLLECTED, at=at)
        event = TimelineEvent(at, moved.status, "order.collected")
        messages: list[Message] = [("order.collected", {"locker": locker.public()})]
        check_transaction_size(
            tx, 1, len(messages) + self._fact_items(), f"collecting {parcel.order_id}"
        )
        facts = self._facts
        self._orders.save(
            moved,
            [event],
            expected_version=order.version,
            messages=messages,
            tx=tx,
            then=(lambda t: facts.collected(t, order, at, parcel.deposited_at)) if facts else None,
        )
        return collected_view(parcel)

    def _refund(self, locker_id: str, seen: KioskAttempts) -> None:
        """The right code's attempt back; the doors are open already, so a throttled refund
        leaves one attempt counted rather than turning the pickup into an error."""
        try:
            self._repo.refund_attempt(locker_id, seen.window_ends)
        except AttemptNotCounted as exc:
            logger.warning(
                "a right code's attempt not given back",
                extra={"locker_id": locker_id, "error": str(exc)},
            )

    def _lock(self, locker_id: str, now: int, seen: KioskAttempts) -> None:
        """The window's last check was refused: lock the kiosk; the one write that locks it
        alerts (concurrent refusals of the same lockout do not)."""
        until = max(seen.window_ends, now + LOCK_S)
        try:
            locked = self._repo.lock(locker_id, now, until)
        except AttemptNotCounted as exc:
            # The window's checks are spent all the same (its count is at 5): nothing more is
            # looked at until it ends; only the longer lock and its alert are missing.
            logger.error(
                "kiosk lockout not recorded",
                extra={"locker_id": locker_id, "alert": "kiosk_lockout", "error": str(exc)},
            )
            return
        if not locked:
            return
        logger.warning(
            "locker kiosk locked after repeated wrong pickup codes",
            extra={"locker_id": locker_id, "locked_until": until, "alert": "kiosk_lockout"},
        )
        _alert("KioskLockouts")

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
            return retrieved_view(parcel)
        if parcel.state not in (P.EXPIRED, P.RETRIEVAL_PLANNED):
            raise IllegalTransition(f"the parcel of {order_id} is {parcel.state}: not to retrieve")
        at = at or utc_now()
        tx = Transaction()
        self._repo.put_parcel(
            tx, replace(parcel, state=P.RETRIEVED), expect=(P.EXPIRED, P.RETRIEVAL_PLANNED)
        )
        self._repo.vacate(tx, locker_id, parcel.compartment_ids, order_id)
        event = TimelineEvent(at, order.status, "order.retrieved_from_locker")
        check_transaction_size(tx, 1, 0, f"retrieving {order_id}")
        self._orders.save(
            replace(order, updated_at=at, version=order.version + 1),
            [event],
            expected_version=order.version,
            tx=tx,
        )
        self._served(parcel.route_id, order_id, at)
        return retrieved_view(parcel)

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


def _alert(metric: str) -> None:
    """One count of an alarm's metric (infra/stacks/lockers.py alarms on KioskLockouts with
    exactly this namespace and dimension)."""
    with single_metric(name=metric, unit=MetricUnit.Count, value=1, namespace="lastmile") as m:
        m.add_dimension(name="service", value="lastmile")


def deposited_view(parcel: LockerParcel) -> dict[str, Any]:
    """A deposit's answer: the doors the parcel is behind and its deadline."""
    return {
        "order_id": parcel.order_id,
        "compartment_id": parcel.compartment_ids[0],
        "compartment_ids": list(parcel.compartment_ids),
        "pickup_by": parcel.pickup_by,
    }


def collected_view(parcel: LockerParcel) -> dict[str, Any]:
    """A pickup's answer: the doors its code opens."""
    return {
        "order_id": parcel.order_id,
        "compartment_id": parcel.compartment_ids[0],
        "compartment_ids": list(parcel.compartment_ids),
    }


def retrieved_view(parcel: LockerParcel) -> dict[str, Any]:
    """A retrieval's answer: the doors the parcel was taken out of."""
    return {"order_id": parcel.order_id, "compartment_ids": list(parcel.compartment_ids)}


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
        eta_from=None,
        eta_to=None,
    )
    events.append(TimelineEvent(at, moved.status, "order.in_locker", f"locker: {locker.name}"))
    return moved, events
