"""Proof of delivery: what the driver's phone recorded at the door (who took it, where it was
left, the photo and signature uploaded, the labels scanned, the GPS fix and time), and the
rule that a parcel of another order at the door changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.errors import WrongParcel
from chalicelib.domain.order import Order, labels_of

# What a proof upload may be: images only, each kind within its size (bytes).
UPLOAD_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
UPLOAD_SIZES = {"photo": (10_000, 5_000_000), "signature": (100, 512_000)}
PROOF_KINDS = tuple(UPLOAD_SIZES)


@dataclass(frozen=True)
class Proof:
    order_id: str
    route_id: str
    at: str  # the event's recorded time
    labels_scanned: tuple[str, ...] = ()
    labels_missing: tuple[str, ...] = ()  # the order's parcels not scanned at the door
    recipient_name: str | None = None
    safe_place: str | None = None
    photo_key: str | None = None
    signature_key: str | None = None
    lat: float | None = None
    lng: float | None = None


def scanned_at_door(order: Order, labels: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The order's labels scanned and those missing; WrongParcel naming the first label that
    is not one of its parcels (another order's, or nobody's)."""
    own = labels_of(order)
    for label in labels:
        if label not in own:
            raise WrongParcel(
                f"label {label} is not a parcel of order {order.order_id}", field="labels"
            )
    scanned = tuple(dict.fromkeys(labels))
    return scanned, tuple(label for label in own if label not in scanned)


def upload_prefix(route_id: str, order_id: str, kind: str) -> str:
    """Where a route's proof uploads of one order and kind live (an event may cite no other)."""
    return f"proofs/{route_id}/{order_id}/{kind}-"
