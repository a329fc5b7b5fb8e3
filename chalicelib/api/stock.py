"""Operator API (admin key) for depots as fulfilment locations: service area, daily capacity and
cut-off; stock per SKU; and a merchant's map from Shopify locations and inventory items."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.api.operator_replies import Carriers, Fulfilment, ShopifyInventory
from chalicelib.api.replies import StockOut
from chalicelib.request_bodies import Id, validation_failed

stock_api = Blueprint(__name__)

MAX_POSITIONS = 5_000  # every ring's positions together: the depot item stays far under 400 KB
MAX_STOCK_ITEMS = 100  # one PUT is one transaction (DynamoDB's 100 items)
MAX_QUANTITY = 10_000_000
MAX_MAP_BYTES = 300_000
CUTOFF = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$"
    ),
]
Position = Annotated[list[float], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class GeoJsonIn(_In):
    """A GeoJSON Polygon or MultiPolygon ([lng, lat] positions; rings closed; holes after the
    outer ring)."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _rings(self) -> GeoJsonIn:
        polygons = [self.coordinates] if self.type == "Polygon" else self.coordinates
        positions = 0
        for p, polygon in enumerate(polygons):
            if not isinstance(polygon, list) or not polygon:
                raise ValueError(f"coordinates.{p}: a polygon is a list of rings")
            for r, ring in enumerate(polygon):
                where = (
                    f"coordinates.{p}.{r}" if self.type == "MultiPolygon" else f"coordinates.{r}"
                )
                _check_ring(ring, where)
                positions += len(ring)
        if positions > MAX_POSITIONS:
            raise ValueError(f"coordinates: at most {MAX_POSITIONS} positions in all")
        return self


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError(f"{where}: a ring has at least 4 positions")
    for index, position in enumerate(ring):
        if (
            not isinstance(position, list)
            or len(position) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
        ):
            raise ValueError(f"{where}.{index}: a position is [lng, lat]")
        lng, lat = position[0], position[1]
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise ValueError(f"{where}.{index}: [lng, lat] within -180..180 and -90..90")
    if ring[0][:2] != ring[-1][:2]:
        raise ValueError(f"{where}: a ring ends where it starts")


class ServiceAreaIn(_In):
    """Either a radius around the depot or a GeoJSON polygon."""

    radius_km: float | None = Field(default=None, gt=0, le=1000)
    geojson: GeoJsonIn | None = None

    @model_validator(mode="after")
    def _one(self) -> ServiceAreaIn:
        if (self.radius_km is None) == (self.geojson is None):
            raise ValueError("radius_km: give radius_km or geojson (one of them)")
        return self


class DailyCapacityIn(_In):
    """Orders, or parcels, the depot sends per local day (one of them)."""

    orders: int | None = Field(default=None, ge=0, le=1_000_000)
    parcels: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _one(self) -> DailyCapacityIn:
        if (self.orders is None) == (self.parcels is None):
            raise ValueError("orders: give orders or parcels (one of them)")
        return self


class FulfilmentIn(_In):
    """A depot as a fulfilment location. No area: 50 km around the depot. No capacity: no
    limit. `cutoff` (local HH:MM): an order without a window received before it is promised
    for today, after it for the next delivery day; an order with a window is taken until the
    cut-off of its window's day. No cut-off: every order is promised for the day it arrives (or
    its window's). `cutoffs` sets another per weekday, or none (null: no delivery that day)."""

    service_area: ServiceAreaIn | None = None
    daily_capacity: DailyCapacityIn | None = None
    cutoff: str | None = Field(default=None, description="local time HH:MM")
    cutoffs: dict[Weekday, str | None] | None = Field(
        default=None,
        description="per weekday (mon..sun): another cut-off HH:MM, or null where the depot "
        "does not deliver that day",
    )

    @model_validator(mode="after")
    def _cutoffs_are_times(self) -> FulfilmentIn:
        if self.cutoff is not None and not CUTOFF.match(self.cutoff):
            raise ValueError(f"cutoff: {self.cutoff!r} is not a time of day HH:MM")
        for day, value in (self.cutoffs or {}).items():
            if value is not None and not CUTOFF.match(value):
                raise ValueError(f"cutoffs.{day}: {value!r} is not a time of day HH:MM")
        if (
            self.cutoffs
            and all(v is None for v in self.cutoffs.values())
            and len(self.cutoffs) == 7
        ):
            raise ValueError("cutoffs: the depot delivers on no day")
        return self

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class StockLineIn(_In):
    sku: Sku
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="units on the shelf")


class StockIn(_In):
    merchant_id: Id = Field(description="whose stock it is (SKUs are each merchant's own)")
    items: list[StockLineIn] = Field(min_length=1, max_length=MAX_STOCK_ITEMS)

    @model_validator(mode="after")
    def _each_sku_once(self) -> StockIn:
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("items: each sku once")
        return self


ShopifyId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class ShopifyInventoryIn(_In):
    """Shopify location id -> depot id, inventory item id -> SKU."""

    locations: dict[ShopifyId, Id] = Field(max_length=50)
    items: dict[ShopifyId, Sku] = Field(max_length=5_000)

    @model_validator(mode="after")
    def _fits_one_item(self) -> ShopifyInventoryIn:
        # The map is one DynamoDB item (400 KB): its SKUs are counted in UTF-8 bytes.
        size = sum(len(k) + len(v.encode()) for k, v in self.items.items())
        if size > MAX_MAP_BYTES:
            raise ValueError(f"items: at most {MAX_MAP_BYTES} bytes of ids and SKUs in all")
        return self


class MaxPriceIn(_In):
    amount: int = Field(ge=0, le=1_000_000, description="minor units (pence, cents)")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217, upper case"
    )


class CarrierIn(_In):
    carrier: Literal["uber_direct", "doordash_drive"]
    max_price: MaxPriceIn
    enabled: bool = True


class CarriersIn(_In):
    """The partner carriers offered the orders the depot's fleet cannot take, each with the
    most it may charge for one delivery."""

    carriers: list[CarrierIn] = Field(max_length=2)

    @model_validator(mode="after")
    def _each_carrier_once(self) -> CarriersIn:
        names = [c.carrier for c in self.carriers]
        if len(set(names)) != len(names):
            raise ValueError("carriers: each carrier once")
        return self


def _authorise() -> None:
    bootstrap.accounts().authenticate_admin(bearer(stock_api.current_request))


@route(stock_api, "/v1/depots/{depot_id}/fulfilment", methods=["PUT"])
def put_fulfilment(depot_id: str) -> Any:
    """Replace the depot's service area, daily capacity and cut-off."""
    _authorise()
    body = parse_body(stock_api.current_request, FulfilmentIn)
    depot = bootstrap.accounts().set_fulfilment(depot_id, body.stored())
    return json_response(Fulfilment.of(depot).body())


@route(stock_api, "/v1/depots/{depot_id}/fulfilment", methods=["GET"])
def get_fulfilment(depot_id: str) -> Any:
    _authorise()
    depot = bootstrap.accounts().depot(depot_id)
    return json_response(Fulfilment.of(depot).body())


@route(stock_api, "/v1/depots/{depot_id}/stock", methods=["PUT"])
def put_stock(depot_id: str) -> Any:
    """What is on the shelf of one merchant's given SKUs (the others stay as they are)."""
    _authorise()
    body = parse_body(stock_api.current_request, StockIn)
    shelf = [(i.sku, i.quantity) for i in body.items]
    levels = bootstrap.stock().put(depot_id, body.merchant_id, shelf)
    return json_response(StockOut.of(depot_id, levels).body())


class StockQuery(_In):
    merchant_id: Id | None = None


@route(stock_api, "/v1/depots/{depot_id}/stock", methods=["GET"])
def get_stock(depot_id: str) -> Any:
    """The depot's stock, of every merchant it holds stock for or of one (`?merchant_id=`)."""
    _authorise()
    try:
        query = StockQuery.model_validate(dict(stock_api.current_request.query_params or {}))
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    levels = bootstrap.stock().levels(depot_id, query.merchant_id)
    return json_response(StockOut.of(depot_id, levels).body())


@route(stock_api, "/v1/merchants/{merchant_id}/shopify-inventory", methods=["PUT"])
def put_shopify_inventory(merchant_id: str) -> Any:
    """Which depot each Shopify location is and which SKU each inventory item, for the
    merchant's `inventory_levels/update` webhooks."""
    _authorise()
    body = parse_body(stock_api.current_request, ShopifyInventoryIn)
    stored = bootstrap.stock().map_shopify(merchant_id, body.locations, body.items)
    return json_response(ShopifyInventory.of(merchant_id, stored).body())


@route(stock_api, "/v1/depots/{depot_id}/carriers", methods=["PUT"])
def put_carriers(depot_id: str) -> Any:
    """Replace the partner carriers the depot offers its overflow to."""
    _authorise()
    body = parse_body(stock_api.current_request, CarriersIn)
    depot = bootstrap.accounts().set_carriers(depot_id, body.model_dump()["carriers"])
    return json_response(Carriers.of(depot).body())


@route(stock_api, "/v1/depots/{depot_id}/carriers", methods=["GET"])
def get_carriers(depot_id: str) -> Any:
    _authorise()
    depot = bootstrap.accounts().depot(depot_id)
    return json_response(Carriers.of(depot).body())
