"""Lockers, compartments, held parcels, pickup codes and kiosk attempts: one partition per
locker (pk LOCKER#<id>) in the main table."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from chalicelib.store.models.base import Gsi1Index, Gsi2Index, MainItem


class LockerAddressAttribute(MapAttribute[str, object]):
    line1 = UnicodeAttribute()
    city = UnicodeAttribute()
    postcode = UnicodeAttribute()


class OpeningHoursAttribute(MapAttribute[str, object]):
    # PynamoDB's stubs type a list of scalars as a list of attributes; it holds str (int).
    days: ListAttribute[str] = ListAttribute(of=UnicodeAttribute)  # type: ignore[arg-type]
    open = UnicodeAttribute()
    close = UnicodeAttribute()


class LockerItem(MainItem, discriminator="locker"):
    """sk PROFILE: the locker, its kiosk key's hash, and running figures ADDed by the writes
    that change them."""

    locker_id = UnicodeAttribute()
    name = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    depot_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    address = LockerAddressAttribute(null=True)
    opening_hours = ListAttribute(of=OpeningHoursAttribute)
    holding_hours = NumberAttribute()
    kiosk_key_hash = UnicodeAttribute()
    deposits = NumberAttribute(null=True)
    pickups = NumberAttribute(null=True)
    expiries = NumberAttribute(null=True)
    dwell_s_total = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()

    # Every locker under one key (there are hundreds, not millions), by depot then id.
    every_locker = Gsi1Index["LockerItem"]()


class CompartmentItem(MainItem, discriminator="compartment"):
    """sk COMP#<id>: one door, so a reservation or a deposit is a conditional write on exactly
    the doors it takes."""

    compartment_id = UnicodeAttribute()
    size = UnicodeAttribute()
    state = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    route_id = UnicodeAttribute(null=True)
    reserved_until = NumberAttribute(null=True)  # epoch seconds


class LockerParcelItem(MainItem, discriminator="locker_parcel"):
    """sk PARCEL#<order id>: an order's parcel(s) in the locker, its pickup code's salt and
    hash; a dispatch run's claim on an expired one; kept a while once finished."""

    locker_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    compartment_ids: ListAttribute[str] = ListAttribute(
        of=UnicodeAttribute  # type: ignore[arg-type]  # see OpeningHoursAttribute.days
    )
    state = UnicodeAttribute()
    deposited_at = UnicodeAttribute()
    pickup_by = UnicodeAttribute()
    code_salt = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    reminded = BooleanAttribute(default=False)
    extended = BooleanAttribute(default=False)
    resends = NumberAttribute(default=0)
    claimed_by = UnicodeAttribute(null=True)
    claimed_until = NumberAttribute(null=True)  # epoch seconds
    route_id = UnicodeAttribute(null=True)
    code_key = UnicodeAttribute(default="")
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    # A depot's expired parcels, by deadline: where dispatch runs find the ones to take back.
    awaiting_retrieval = Gsi2Index["LockerParcelItem"]()


class LiveCodeItem(MainItem, discriminator="live_code"):
    """sk CODE#<code key>: one of the locker's live pickup codes (written only if no live code
    of the locker has that key, deleted with the code), the parcel it opens and its salted hash;
    in gsi1 under LOCKER_DUE by when the sweep next has something to do about it."""

    locker_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    code_salt = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    due = NumberAttribute()  # epoch seconds
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()

    # Every locker's live codes by when they are next due: what the sweep reads.
    due_codes = Gsi1Index["LiveCodeItem"]()


class KioskLockoutItem(MainItem, discriminator="kiosk_lockout"):
    """sk LOCKOUT: the kiosk's current window of pickup attempts (each counted by one ADD before
    its code is looked at), until when it is locked, and how many lockouts it has had."""

    window_ends = NumberAttribute(null=True)  # epoch seconds
    attempts = NumberAttribute(null=True)  # in the window, counted before checking
    locked_until = NumberAttribute(null=True)  # epoch seconds
    lockouts = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
