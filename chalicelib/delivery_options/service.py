"""Quoting delivery options and redeeming them: each option offered holds its seats in a slot
until `expires_at`; an order carrying its id books them in the order's creating transaction."""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.delivery_options.capacity import LEAD, Slot, slots
from chalicelib.delivery_options.pricing import PriceList
from chalicelib.domain.errors import Conflict, OptionExpired
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.lockers import MAX_LOCKER_PARCELS, parcel_sizes
from chalicelib.domain.money import Money
from chalicelib.domain.order import Window
from chalicelib.domain.tenancy import Depot, Merchant, Vehicle
from chalicelib.domain.times import iso_z, utc_now
from chalicelib.store.delivery_options import (
    DeliveryOptionStore,
    HeldOption,
    seat_sk,
    slot_pk,
)
from chalicelib.store.transaction import Transaction

HOLD = timedelta(minutes=15)
EXPRESS_WITHIN = timedelta(hours=4)  # express: the earliest slot with room, if it starts soon
HOLD_ATTEMPTS = 3  # re-reads of a slot after losing its seats to another customer's hold
MAX_OPTION_PARCELS = 20  # seats one option holds (and writes in one transaction)
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit

_NAMES = {
    "standard": "Standard delivery",
    "express": "Express delivery",
    "slot": "Delivery",
    "locker": "Collect from a locker",
}


class NoPriceList(Conflict):
    """The merchant has not priced any delivery option yet (PUT /v1/price-list)."""

    code = "no_price_list"


# The depot's nearest locker with room for these parcel sizes, within reach (lockers/).
NearestLocker = Callable[[float, float, str, list[str]], dict[str, Any] | None]


class Accounts(Protocol):
    def depot_fleet(self, depot_id: str) -> tuple[Depot, list[Vehicle]]: ...


@dataclass(frozen=True)
class Quote:
    lat: float | None
    lng: float | None
    weights_kg: tuple[float, ...]
    date_from: datetime | None = None
    sizes: tuple[str | None, ...] = ()  # S, M, L when known (a locker must take each)


class DeliveryOptions:
    def __init__(
        self,
        store: DeliveryOptionStore,
        accounts: Accounts,
        hold: timedelta = HOLD,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nearest_locker: NearestLocker | None = None,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._nearest_locker = nearest_locker
        self._hold = hold
        self._clock = clock

    def set_price_list(self, merchant: Merchant, prices: PriceList) -> PriceList:
        self._store.put_price_list(merchant.merchant_id, prices.as_dict(), utc_now())
        return prices

    def price_list(self, merchant: Merchant) -> PriceList | None:
        body = self._store.price_list(merchant.merchant_id)
        return PriceList.from_dict(body) if body else None

    def quote(self, merchant: Merchant, quote: Quote) -> list[dict[str, Any]]:
        """The options the fleet can still serve for these parcels, each holding its seats."""
        prices = self.price_list(merchant)
        if prices is None:
            raise NoPriceList("no price list: PUT /v1/price-list first")
        depot, fleet = self._accounts.depot_fleet(merchant.depot_id)
        now = self._clock()
        hold_until = int((now + self._hold).timestamp())
        found = slots(fleet, now, quote.date_from)
        seats_needed = len(quote.weights_kg)
        weight = sum(quote.weights_kg)
        distance_km = (
            great_circle_m(depot.lat, depot.lng, quote.lat, quote.lng) / 1000
            if quote.lat is not None and quote.lng is not None
            else None
        )
        zone = ZoneInfo(depot.timezone)
        by_pk = self._store.taken_seats_of([slot_pk(depot.depot_id, s.key) for s in found], _s(now))
        taken = {s.key: by_pk[slot_pk(depot.depot_id, s.key)] for s in found}

        def room(s: Slot) -> bool:
            return s.seats - len(taken[s.key]) >= seats_needed

        candidates: list[tuple[str, Slot, Window]] = []
        for s in found:
            if room(s):
                candidates.append(("slot", s, Window(iso_z(s.start), iso_z(s.end))))
        with_room = [s for s in found if room(s)]
        if with_room and with_room[0].start <= now + EXPRESS_WITHIN:
            first = with_room[0]
            candidates.append(("express", first, Window(iso_z(now + LEAD), iso_z(first.end))))
        if with_room:
            # Standard: any time of the fleet's day; its room is taken from the latest slot,
            # leaving the early ones to the customers who pay for them.
            day = Window(iso_z(found[0].start), iso_z(found[-1].end))
            candidates.append(("standard", with_room[-1], day))
        locker = self._locker(depot, quote, prices) if with_room else None
        if locker is not None:
            # Collected from a locker: the van's day, its room taken like standard's.
            candidates.append(("locker", with_room[-1], day))

        priced: list[tuple[str, Slot, Window, Money]] = []
        for kind, s, window in candidates:
            local_start = s.start.astimezone(zone).strftime("%H:%M")
            price = prices.price(
                kind, local_start=local_start, weight_kg=weight, distance_km=distance_km
            )
            if price is not None:
                priced.append((kind, s, window, price))
        # Every option's hold in one transaction when it fits (one write for the quote); when
        # another customer took a seat meanwhile, each option is held on its own, re-reading
        # its slot, and the ones that no longer fit are left out.
        together = self._hold_together(
            merchant, depot, priced, hold_until, taken, now, seats_needed, locker
        )
        if together is not None:
            return [_view(held, now, zone, locker) for held, _ in together]
        options: list[dict[str, Any]] = []
        for kind, s, window, price in priced:
            held = self._hold_seats(
                merchant,
                depot,
                kind,
                s,
                window,
                price,
                hold_until,
                taken,
                now,
                seats_needed,
                locker,
            )
            if held is not None:
                options.append(_view(held, now, zone, locker))
        return options

    def _locker(self, depot: Depot, quote: Quote, prices: PriceList) -> dict[str, Any] | None:
        """The nearest locker with room, when the merchant prices lockers and they can take
        these parcels (its compartments are reserved at dispatch, as for any locker order)."""
        if (
            self._nearest_locker is None
            or "locker" not in prices.prices
            or quote.lat is None
            or quote.lng is None
            or len(quote.weights_kg) > MAX_LOCKER_PARCELS
        ):
            return None
        sizes = parcel_sizes(list(quote.sizes) or [None] * len(quote.weights_kg))
        return self._nearest_locker(quote.lat, quote.lng, depot.depot_id, sizes)

    def _hold_together(
        self,
        merchant: Merchant,
        depot: Depot,
        priced: list[tuple[str, Slot, Window, Money]],
        hold_until: int,
        taken: dict[str, set[int]],
        now: datetime,
        need: int,
        locker: dict[str, Any] | None,
    ) -> list[tuple[HeldOption, Slot]] | None:
        # Each held seat is a put and a check; each option one put more.
        if not priced or len(priced) * (2 * need + 1) > MAX_TRANSACTION_ITEMS:
            return None
        chosen: dict[str, set[int]] = {s.key: set() for _, s, _, _ in priced}
        planned: list[tuple[HeldOption, Slot]] = []
        for kind, s, window, price in priced:
            free = [n for n in range(s.seats) if n not in taken[s.key] | chosen[s.key]]
            if len(free) < need:
                return None
            seats = sorted(random.sample(free, need))
            chosen[s.key].update(seats)
            held = _held(merchant, depot, kind, s, window, price, hold_until, seats, locker)
            planned.append((held, s))
        if not self._store.hold_all([option for option, _ in planned], _s(now)):
            return None
        for key, claimed in chosen.items():
            taken[key].update(claimed)
        return planned

    def _hold_seats(
        self,
        merchant: Merchant,
        depot: Depot,
        kind: str,
        slot: Slot,
        window: Window,
        price: Money,
        hold_until: int,
        taken: dict[str, set[int]],
        now: datetime,
        need: int,
        locker: dict[str, Any] | None,
    ) -> HeldOption | None:
        pk = slot_pk(depot.depot_id, slot.key)
        for attempt in range(HOLD_ATTEMPTS):
            if attempt:
                taken[slot.key] = self._store.taken_seats(pk, _s(now))
            free = [n for n in range(slot.seats) if n not in taken[slot.key]]
            if len(free) < need:
                return None
            chosen = sorted(random.sample(free, need))
            option = _held(merchant, depot, kind, slot, window, price, hold_until, chosen, locker)
            if self._store.hold_all([option], _s(now)):
                taken[slot.key].update(chosen)
                return option
        return None

    def redeemable(self, merchant_id: str, option_id: str) -> HeldOption:
        """The merchant's live, unredeemed option; OptionExpired for anything else (unknown,
        expired, redeemed, another merchant's: the same answer, so nothing is learnt)."""
        option = self._store.option(option_id)
        if (
            option is None
            or option.merchant_id != merchant_id
            or option.order_id is not None
            or option.hold_until <= _s(self._clock())
        ):
            raise OptionExpired(f"delivery.option_id: option {option_id} has expired or is unknown")
        return option

    def redeem(self, tx: Transaction, option: HeldOption, order_id: str) -> None:
        """The option's hold becomes the order's booking, in the order's own transaction."""
        self._store.redeem(tx, option, order_id, _s(self._clock()))


def _held(
    merchant: Merchant,
    depot: Depot,
    kind: str,
    slot: Slot,
    window: Window,
    price: Money,
    hold_until: int,
    seats: list[int],
    locker: dict[str, Any] | None,
) -> HeldOption:
    return HeldOption(
        option_id="opt_" + secrets.token_urlsafe(18),
        merchant_id=merchant.merchant_id,
        depot_id=depot.depot_id,
        kind=kind,
        window=window,
        price=price,
        hold_until=hold_until,
        slot_pk=slot_pk(depot.depot_id, slot.key),
        seats=tuple(seat_sk(n) for n in seats),
        locker_id=str(locker["locker_id"]) if kind == "locker" and locker else None,
    )


def _s(moment: datetime) -> int:
    return int(moment.timestamp())


def _view(
    option: HeldOption, now: datetime, zone: ZoneInfo, locker: dict[str, Any] | None
) -> dict[str, Any]:
    start = datetime.fromisoformat(option.window.start.replace("Z", "+00:00"))
    end = datetime.fromisoformat(option.window.end.replace("Z", "+00:00"))
    name = _NAMES.get(option.kind, "Delivery")
    if option.kind == "slot":
        name += f" {start.astimezone(zone):%H:%M}-{end.astimezone(zone):%H:%M}"
    low = max(1, math.floor((start - now).total_seconds() / 3600))
    high = max(low + 1, math.ceil((end - now).total_seconds() / 3600))
    view: dict[str, Any] = {
        "option_id": option.option_id,
        "type": option.kind,
        "window": {"start": option.window.start, "end": option.window.end},
        "price": option.price.view(),
        "expires_at": iso_z(datetime.fromtimestamp(option.hold_until, UTC)),
        "stripe_shipping_rate_data": {
            "type": "fixed_amount",
            "fixed_amount": {
                "amount": option.price.amount,
                "currency": option.price.currency.lower(),
            },
            "display_name": name,
            "delivery_estimate": {
                "minimum": {"unit": "hour", "value": low},
                "maximum": {"unit": "hour", "value": high},
            },
            "metadata": {"lastmile_option_id": option.option_id},
        },
    }
    if option.kind == "locker" and locker:
        view["locker"] = {k: locker[k] for k in ("locker_id", "name", "distance_m") if k in locker}
    return view
