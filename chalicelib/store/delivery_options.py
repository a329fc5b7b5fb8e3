"""Slot seats, quoted options and price lists. A hold claims free seats with conditional puts
in one transaction (a seat exists once, so two customers racing for the last one get one
hold between them); an expired hold's seat counts as free by its `hold_until`, not by TTL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.domain.errors import ConcurrentUpdate, DuplicateEvent, OptionExpired
from chalicelib.domain.money import Money
from chalicelib.domain.order import Window
from chalicelib.store.models.delivery_options import (
    OptionItem,
    PriceListItem,
    SeatItem,
    SlotSummaryItem,
)
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction

KEPT_AFTER_EXPIRY = timedelta(days=2)  # an expired option still answers option_expired


@dataclass(frozen=True)
class HeldOption:
    option_id: str
    merchant_id: str
    depot_id: str
    kind: str
    window: Window
    price: Money
    hold_until: int  # epoch seconds
    slot_pk: str
    seats: tuple[str, ...]
    order_id: str | None = None
    locker_id: str | None = None


def slot_pk(depot_id: str, slot_key: str) -> str:
    return f"SLOT#{depot_id}#{slot_key}"


def _option_key(option_id: str) -> tuple[str, str]:
    return f"OPTION#{option_id}", "OPTION"


def _price_list_key(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "PRICELIST"


def seat_sk(index: int) -> str:
    return f"SEAT#{index:04d}"


def booked_sk(held_sk: str) -> str:
    return "BOOKED#" + held_sk.removeprefix("SEAT#")


def seat_index(held_sk: str) -> int:
    return int(held_sk.removeprefix("SEAT#"))


SUMMARY = "SUMMARY"


class DeliveryOptionStore:
    def taken_seats(self, pk: str, now: int) -> set[int]:
        """The seats of a slot booked, or held past `now` (by index)."""
        return self.taken_seats_of([pk], now)[pk]

    def taken_seats_of(self, pks: list[str], now: int) -> dict[str, set[int]]:
        """The seats of each slot booked, or held past `now` (by index): every slot's summary
        in one batch read (a day's slots are far fewer than its 100 keys), then each slot's
        held seats."""
        taken: dict[str, set[int]] = {pk: set() for pk in pks}
        keys = [(pk, SUMMARY) for pk in taken]
        for summary in SlotSummaryItem.batch_get(keys, consistent_read=True):
            if isinstance(summary, SlotSummaryItem):
                taken[summary.pk].update(int(n) for n in summary.booked or ())
        for pk, seats in taken.items():
            seats.update(self._held_seats(pk, now))
        return taken

    def _held_seats(self, pk: str, now: int) -> set[int]:
        # Read raw, three attributes each: models would be slow to build.
        held: set[int] = set()
        connection = SeatItem._get_connection()
        start: dict[str, Any] | None = None
        while True:
            page = connection.query(
                pk,
                range_key_condition=SeatItem.sk.startswith("SEAT#"),
                consistent_read=True,
                attributes_to_get=["sk", "state", "hold_until"],
                exclusive_start_key=start,
            )
            for raw in page.get("Items", []):
                if float(raw.get("hold_until", {}).get("N", "0")) > now:
                    held.add(int(raw["sk"]["S"].removeprefix("SEAT#")))
            start = page.get("LastEvaluatedKey")
            if not start:
                return held

    def hold_all(self, options: list[HeldOption], now: int) -> bool:
        """Write the options and claim their seats, all or none (at most 100 items); False
        when another hold or booking took one of them meanwhile."""
        tx = Transaction()
        for option in options:
            self._hold(tx, option, now)
        try:
            tx.commit()
        except (DuplicateEvent, ConcurrentUpdate):
            return False
        return True

    def _hold(self, tx: Transaction, option: HeldOption, now: int) -> None:
        for sk in option.seats:
            tx.put(
                SeatItem(
                    option.slot_pk,
                    sk,
                    state="held",
                    option_id=option.option_id,
                    hold_until=option.hold_until,
                    expires_at=timedelta(seconds=option.hold_until - now + 3600),
                ),
                condition=SeatItem.pk.does_not_exist() | (SeatItem.hold_until < now),
                on_fail=DuplicateEvent(f"seat {sk} is held"),
            )
            tx.check(
                SeatItem,
                option.slot_pk,
                booked_sk(sk),
                condition=SeatItem.pk.does_not_exist(),
                on_fail=DuplicateEvent(f"seat {sk} is booked"),
            )
        tx.put(
            OptionItem(
                *_option_key(option.option_id),
                merchant_id=option.merchant_id,
                depot_id=option.depot_id,
                kind=option.kind,
                window_start=option.window.start,
                window_end=option.window.end,
                price_amount=option.price.amount,
                price_currency=option.price.currency,
                hold_until=option.hold_until,
                slot_pk=option.slot_pk,
                seats=list(option.seats),
                locker_id=option.locker_id,
                expires_at=timedelta(seconds=option.hold_until - now) + KEPT_AFTER_EXPIRY,
            ),
            condition=OptionItem.pk.does_not_exist(),
            on_fail=ConcurrentUpdate("option id collision"),
        )

    def option(self, option_id: str) -> HeldOption | None:
        item = get_one(OptionItem, *_option_key(option_id))
        if item is None:
            return None
        return HeldOption(
            option_id=option_id,
            merchant_id=item.merchant_id,
            depot_id=item.depot_id,
            kind=item.kind,
            window=Window(start=item.window_start, end=item.window_end),
            price=Money(int(item.price_amount), item.price_currency),
            hold_until=int(item.hold_until),
            slot_pk=item.slot_pk,
            seats=tuple(item.seats or ()),
            order_id=item.order_id,
            locker_id=item.locker_id,
        )

    def redeem(self, tx: Transaction, option: HeldOption, order_id: str, now: int) -> None:
        """Add to `tx` (the order's creating transaction) the writes that turn the option's hold
        into a booking: once, while the hold lasts (OptionExpired otherwise, at commit)."""
        expired = OptionExpired(f"delivery option {option.option_id} has expired")
        tx.update(
            OptionItem(*_option_key(option.option_id)),
            [OptionItem.order_id.set(order_id)],
            condition=OptionItem.pk.exists()
            & OptionItem.order_id.does_not_exist()
            & (OptionItem.merchant_id == option.merchant_id)
            & (OptionItem.hold_until > now),
            on_fail=expired,
        )
        indices = set()
        for sk in option.seats:
            # The held seat becomes a booked one: gone from the holds, in the summary.
            tx.delete(
                SeatItem(option.slot_pk, sk),
                condition=(SeatItem.option_id == option.option_id) & (SeatItem.state == "held"),
                on_fail=expired,
            )
            tx.put(
                SeatItem(
                    option.slot_pk,
                    booked_sk(sk),
                    state="booked",
                    option_id=option.option_id,
                    hold_until=0,
                    order_id=order_id,
                ),
                condition=SeatItem.pk.does_not_exist(),
                on_fail=expired,
            )
            indices.add(seat_index(sk))
        tx.update(SlotSummaryItem(option.slot_pk, SUMMARY), [SlotSummaryItem.booked.add(indices)])

    def put_price_list(self, merchant_id: str, body: dict[str, object], at: str) -> None:
        PriceListItem(
            *_price_list_key(merchant_id), body=json.dumps(body, sort_keys=True), updated_at=at
        ).save()

    def price_list(self, merchant_id: str) -> dict[str, object] | None:
        item = get_one(PriceListItem, *_price_list_key(merchant_id))
        return dict(json.loads(item.body)) if item else None
