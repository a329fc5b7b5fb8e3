"""The canonical order schema every intake path validates against (pydantic, published as JSON
Schema), and its translation into the domain's OrderDraft. Every value is checked against what
the store can hold and later requests can read, so nothing stored breaks them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chalicelib.allocation.rules import MAX_LINES, merge_lines
from chalicelib.domain.lockers import MAX_LOCKER_PARCELS
from chalicelib.domain.order import (
    MAX_EVENT_ID_BYTES,
    MAX_EXTERNAL_ID_BYTES,
    Address,
    Customer,
    Delivery,
    DeliveryType,
    Line,
    OrderDraft,
    Parcel,
    Window,
    utf8_bytes,
)
from chalicelib.domain.times import iso_z, storable
from chalicelib.request_bodies import validation_failed

MAX_PARCELS = 500
MIN_WEIGHT_KG = 0.001  # a gram, Shopify's unit; smaller is a mistake (and 1e-200 no number
# DynamoDB holds: its numbers stop at 1e-130)
COORDINATE_DECIMALS = 7  # about a centimetre; also keeps a tiny float from underflowing DynamoDB

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None


def _bytes_at_most(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if utf8_bytes(value) > limit:
            raise ValueError(f"must be at most {limit} bytes in UTF-8")
        return value

    return AfterValidator(check)


ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    _bytes_at_most(MAX_EXTERNAL_ID_BYTES),
    Field(description=f"at most 128 characters and {MAX_EXTERNAL_ID_BYTES} bytes in UTF-8"),
]
"""The storefront's order id: lookups and the merchant's index are keyed by it."""

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_EVENT_ID_BYTES),
    _bytes_at_most(MAX_EVENT_ID_BYTES),
]
"""A platform's event id carried in a body (Stripe's): a receipt is keyed by it."""

StoreTime = Annotated[
    AwareDatetime,
    AfterValidator(storable),
    Field(description="ISO 8601 with an offset (Z or +hh:mm), in the years 2000 to 2099"),
]
"""An instant with an offset, between 2000 and 2099 (stored as UTC, `Z`, milliseconds)."""


def _coordinate(value: float) -> float:
    # + 0.0 turns -0.0 (what rounding a tiny negative gives) into 0.0.
    return round(value, COORDINATE_DECIMALS) + 0.0


Coordinate = AfterValidator(_coordinate)


def stored_time(moment: datetime | None) -> str | None:
    """A validated instant in the house format (domain/times.py), or None."""
    return iso_z(moment, "milliseconds") if moment is not None else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class CustomerIn(_Model):
    name: Text
    email: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
            ),
        ]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None


class AddressIn(_Model):
    line1: Text
    line2: OptionalText = None
    city: Text
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    country: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
    ] = Field(description="ISO 3166-1 alpha-2 country code")
    lat: Annotated[float, Field(ge=-90, le=90), Coordinate] | None = None
    lng: Annotated[float, Field(ge=-180, le=180), Coordinate] | None = None

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> AddressIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng must be given together")
        return self


class ParcelIn(_Model):
    weight_kg: float = Field(ge=MIN_WEIGHT_KG, le=1000)
    size: Literal["S", "M", "L"] | None = None


Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
    Field(description="the merchant's stock keeping unit (at most 128 characters)"),
]


class LineIn(_Model):
    sku: Sku
    quantity: int = Field(ge=1, le=1_000_000)


class WindowIn(_Model):
    start: StoreTime
    end: StoreTime

    @model_validator(mode="after")
    def _ends_after_start(self) -> WindowIn:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self


class DeliveryIn(_Model):
    type: Literal["home", "locker"] = "home"
    locker_id: OptionalText = None
    window: WindowIn | None = None
    option_id: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
            Field(description="a delivery option (POST /v1/delivery-options) to redeem"),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _locker_needs_id(self) -> DeliveryIn:
        if self.type == "locker" and not self.locker_id:
            raise ValueError("a locker delivery needs locker_id")
        return self


class CanonicalOrder(_Model):
    """An order as lastmile accepts it from any storefront."""

    external_id: ExternalId
    customer: CustomerIn
    address: AddressIn
    parcels: list[ParcelIn] = Field(min_length=1, max_length=MAX_PARCELS)
    delivery: DeliveryIn = DeliveryIn()
    lines: list[LineIn] = Field(
        default_factory=list,
        max_length=MAX_LINES,
        description=f"what was bought, at most {MAX_LINES} SKUs (each SKU's stock is reserved "
        "in the order's own transaction): intake allocates the order to a depot holding them",
    )
    updated_at: StoreTime | None = Field(
        default=None,
        description="When the platform last changed the order: an older update never "
        "overwrites a newer one.",
    )

    @model_validator(mode="after")
    def _a_locker_takes_so_many(self) -> CanonicalOrder:
        if self.delivery.type == "locker" and len(self.parcels) > MAX_LOCKER_PARCELS:
            raise ValueError(f"parcels: a locker delivery takes at most {MAX_LOCKER_PARCELS}")
        return self

    @property
    def source_updated_at(self) -> str | None:
        return stored_time(self.updated_at)

    def to_draft(self) -> OrderDraft:
        window = self.delivery.window
        return OrderDraft(
            external_id=self.external_id,
            customer=Customer(**self.customer.model_dump()),
            address=Address(**self.address.model_dump()),
            parcels=tuple(Parcel(**p.model_dump()) for p in self.parcels),
            delivery=Delivery(
                type=DeliveryType(self.delivery.type),
                locker_id=self.delivery.locker_id,
                window=Window(
                    start=iso_z(window.start, "milliseconds"), end=iso_z(window.end, "milliseconds")
                )
                if window
                else None,
                option_id=self.delivery.option_id,
            ),
            lines=merge_lines([Line(x.sku, x.quantity) for x in self.lines]),
        )


def parse_canonical(data: Any, *, prefix: str = "") -> CanonicalOrder:
    """Validate a canonical order; raise ValidationFailed naming the first bad field."""
    try:
        return CanonicalOrder.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc, prefix=prefix) from exc


def parse_order(data: Any) -> OrderDraft:
    return parse_canonical(data).to_draft()


def order_json_schema() -> dict[str, Any]:
    return CanonicalOrder.model_json_schema()
