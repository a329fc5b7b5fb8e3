"""A depot's stock per SKU, its orders counted per local day, and a merchant's map from its
Shopify locations and inventory items to depots and SKUs."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.models.base import MainItem


class StockItem(MainItem, discriminator="stock"):
    """pk DEPOT#<id>, sk STOCK#<merchant id>#<sku>: one merchant's level of one SKU at the
    depot (SKUs are each merchant's own names). `quantity` is what is free to allocate,
    `reserved` what open orders hold: an order takes units with one conditional update
    (`quantity >= n`), so concurrent orders never take more than there is."""

    merchant_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    quantity = NumberAttribute(default=0)
    reserved = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()
    shopify_updated_at = UnicodeAttribute(null=True)  # the newest Shopify level applied


class DayCountItem(MainItem, discriminator="day_count"):
    """pk DEPOT#<id>, sk CAPACITY#<local date>: what the depot's orders of that day count
    against its daily capacity (orders or parcels); kept a while after the day."""

    used = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class ShopifyInventoryMapItem(MainItem, discriminator="shopify_inventory_map"):
    """pk MERCHANT#<id>, sk SHOPIFY_INVENTORY: Shopify location id -> depot id, and inventory
    item id -> SKU, which `inventory_levels/update` webhooks are read through."""

    locations = MapAttribute[str, object](default=dict)
    items = MapAttribute[str, object](default=dict)
    updated_at = UnicodeAttribute()
