"""The bodies of the lockers' answers (api/lockers.py, and the tracking page's new code and more
time): reply models built from what the locker services give, whose JSON schemas the OpenAPI
document takes (openapi/lockers.py). Their fields are the services' own: a field the service
leaves out is left out, a null it sends is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from chalicelib.api.replies import Reply, ViewReply

Size = Literal["S", "M", "L"]  # domain/lockers.py SIZES, smallest first
DoorState = Literal["free", "reserved", "occupied", "awaiting_retrieval"]
Count = Annotated[int, Field(ge=0)]
Doors = Annotated[list[str], Field(min_length=1)]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def _absent_is_not_null(schema: dict[str, Any]) -> None:
    """An optional field is left out when it holds nothing, never sent as null: documented so."""
    required = set(schema.get("required", ()))
    for name, field in schema.get("properties", {}).items():
        if name in required or {"type": "null"} not in field.get("anyOf", ()):
            continue
        field.pop("default", None)
        kinds = [kind for kind in field.pop("anyOf") if kind != {"type": "null"}]
        field.update(kinds[0] if len(kinds) == 1 else {"anyOf": kinds})


class _Sent(Reply):
    """A reply whose required fields are always sent, nulls included, and whose optional ones
    (those with a default) only when they hold something: each part decides for itself, so a
    null deep inside survives where a parent leaves an absent field out."""

    model_config = ConfigDict(json_schema_extra=_absent_is_not_null)

    # No return annotation: pydantic would document the annotation (a bare object) instead of
    # the fields.
    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        for name, field in type(self).model_fields.items():
            if not field.is_required() and data.get(name) is None:
                data.pop(name, None)
        return data

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class _PublicLocker(_Sent):
    """What a customer or storefront may see of a locker (domain/lockers.py Locker.public)."""

    locker_id: str
    name: str
    lat: float
    lng: float
    opening_hours: str = Field(description='e.g. "daily 24 hours", "Mon-Sat 07:00-22:00"')
    address: str | None = Field(
        default=None, description="line1, city postcode (when the locker has one)"
    )


class NearbyLocker(_PublicLocker):
    distance_m: Count
    free: dict[Size, Count] = Field(
        description="free compartments by size (sizes with none left out)"
    )


class NearbyLockers(_Sent):
    """The nearest lockers with room (lockers/directory.py near): one page, never a cursor."""

    lockers: list[NearbyLocker]
    items: list[NearbyLocker] = Field(description="the same lockers, as every list has them")
    next_cursor: None = Field(description="always null: the nearest few are one page")

    @classmethod
    def of(cls, found: Sequence[Mapping[str, Any]]) -> NearbyLockers:
        lockers = [NearbyLocker.model_validate(locker) for locker in found]
        return cls(lockers=lockers, items=lockers, next_cursor=None)


class LockerCompartmentOut(_Sent):
    compartment_id: str
    size: Size
    state: DoorState = Field(description="as it counts now: a lapsed reservation is free")
    order_id: str | None = Field(default=None, description="the order holding it (not when free)")


class LockerFiguresOut(_Sent):
    by_size: dict[Size, dict[DoorState, Count]] = Field(
        description="compartments by size, then by state"
    )
    occupancy: float = Field(ge=0, le=1, description="the share of compartments held")
    deposits: Count
    pickups: Count
    expiries: Count
    mean_dwell_hours: float | None = Field(
        ge=0, description="from deposit to pickup; null before the first pickup"
    )
    expiry_rate: float | None = Field(
        ge=0, le=1, description="expiries / (pickups + expiries); null before either"
    )


class LockerKioskOut(_Sent):
    attempts: Count = Field(description="pickup attempts counted in the current window")
    window_ends: DateTime | None = Field(description="when the current window of attempts ends")
    locked_until: DateTime | None = Field(
        description="pickups answer 429 until then (null: not locked)"
    )
    lockouts: Count = Field(description="lockouts so far")


class LockerView(_PublicLocker, ViewReply):
    """A locker as its operators watch it (lockers/admin.py view)."""

    depot_id: str
    holding_hours: Count = Field(description="how long a deposited parcel waits for its customer")
    compartments: list[LockerCompartmentOut]
    figures: LockerFiguresOut
    kiosk: LockerKioskOut


class Pickup(_Sent, ViewReply):
    """The doors a right pickup code opens (lockers/kiosk.py collected_view)."""

    order_id: str
    compartment_id: str = Field(description="the first of compartment_ids")
    compartment_ids: Doors = Field(description="the doors to open")


class Deposit(_Sent, ViewReply):
    """The doors a parcel was put behind and its deadline (lockers/kiosk.py deposited_view)."""

    order_id: str
    compartment_id: str = Field(description="the first of compartment_ids")
    compartment_ids: Doors = Field(description="one per parcel")
    pickup_by: DateTime = Field(description="UTC; after it the code expires")


class Retrieval(_Sent, ViewReply):
    """The doors an expired parcel was taken out of (lockers/kiosk.py retrieved_view)."""

    order_id: str
    compartment_ids: Doors = Field(description="free again")


class PickupBy(_Sent):
    """A parcel's deadline after a new pickup code or more time (lockers/choices.py)."""

    pickup_by: DateTime = Field(description="UTC; after it the code expires")


LOCKER_REPLIES = (NearbyLockers, LockerView, Deposit, Pickup, Retrieval, PickupBy)
