"""Merchants, depots, fleets and API keys."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.models.base import Gsi1Index, MainItem


class BrandAttribute(MapAttribute[str, object]):
    display_name = UnicodeAttribute(null=True)
    colour = UnicodeAttribute(null=True)
    help_url = UnicodeAttribute(null=True)


class MerchantItem(MainItem, discriminator="merchant"):
    """pk MERCHANT#<id>, sk PROFILE."""

    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    stripe_account_id = UnicodeAttribute(null=True)
    # A plain list of strings: `of=UnicodeAttribute` would type its items as attributes.
    notifications_off = ListAttribute[str](default=list)
    depot_ids = ListAttribute[str](null=True)  # every depot serving it, depot_id first
    brand = BrandAttribute(null=True)  # the tracking page's name, colour and help link
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()

    # Every merchant under one index key (gsi1pk MERCHANTS), for jobs that visit them all.
    all_merchants = Gsi1Index["MerchantItem"]()


class MerchantLookupItem(MainItem, discriminator="merchant_lookup"):
    """A merchant found by another key: APIKEY#<key hash> or STRIPEACCT#<account id> (sk the
    same word)."""

    merchant_id = UnicodeAttribute()


class DepotItem(MainItem, discriminator="depot"):
    """pk DEPOT#<id>, sk PROFILE; `dispatch` is the depot's dispatch policy as given."""

    depot_id = UnicodeAttribute()
    name = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    timezone = UnicodeAttribute()
    created_at = UnicodeAttribute()
    dispatch = MapAttribute[str, object](default=dict)
    fulfilment = MapAttribute[str, object](null=True)  # area, daily capacity, cut-off
    carriers = MapAttribute[str, object](null=True)  # {"carriers": [...]}: partner carriers
    gsi1pk = UnicodeAttribute(null=True)  # DEPOTS (null only on depots older than the index)
    gsi1sk = UnicodeAttribute(null=True)  # <depot id>

    # Every depot under one index key, by id: the operator's list pages through it.
    all_depots = Gsi1Index["DepotItem"]()


class ShiftBreakAttribute(MapAttribute[str, object]):
    earliest = UnicodeAttribute()
    latest = UnicodeAttribute()
    duration_s = NumberAttribute()


class VehicleAttribute(MapAttribute[str, object]):
    vehicle_id = UnicodeAttribute()
    profile = UnicodeAttribute()
    capacity_parcels = NumberAttribute()
    capacity_weight_kg = NumberAttribute()
    shift_start = UnicodeAttribute()
    shift_end = UnicodeAttribute()
    skills = ListAttribute[str](default=list)
    breaks = ListAttribute(of=ShiftBreakAttribute, null=True)
    max_trips = NumberAttribute(null=True)  # unset: 1
    reload_s = NumberAttribute(null=True)


class FleetItem(MainItem, discriminator="fleet"):
    """pk DEPOT#<id>, sk FLEET: the whole fleet in one item (every dispatch run reads it whole)."""

    updated_at = UnicodeAttribute()
    vehicles = ListAttribute(of=VehicleAttribute, default=list)
