"""The canonical order schema every intake path validates against (pydantic, published as JSON
Schema), and its translation into the domain's OrderDraft."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chalicelib.domain.order import (
    Address,
    Customer,
    Delivery,
    DeliveryType,
    OrderDraft,
    Parcel,
    Window,
)
from chalicelib.request_bodies import validation_failed

MAX_PARCELS = 500

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


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
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> AddressIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng must be given together")
        return self


class ParcelIn(_Model):
    weight_kg: float = Field(gt=0, le=1000)
    size: Literal["S", "M", "L"] | None = None


class WindowIn(_Model):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> WindowIn:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self


class DeliveryIn(_Model):
    type: Literal["home", "locker"] = "home"
    locker_id: OptionalText = None
    window: WindowIn | None = None

    @model_validator(mode="after")
    def _locker_needs_id(self) -> DeliveryIn:
        if self.type == "locker" and not self.locker_id:
            raise ValueError("a locker delivery needs locker_id")
        return self


class CanonicalOrder(_Model):
    """An order as lastmile accepts it from any storefront."""

    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
    ]
    customer: CustomerIn
    address: AddressIn
    parcels: list[ParcelIn] = Field(min_length=1, max_length=MAX_PARCELS)
    delivery: DeliveryIn = DeliveryIn()
    updated_at: AwareDatetime | None = Field(
        default=None,
        description="When the platform last changed the order: an older update never "
        "overwrites a newer one.",
    )

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
                window=Window(start=window.start.isoformat(), end=window.end.isoformat())
                if window
                else None,
            ),
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
