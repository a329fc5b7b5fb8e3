"""Proofs of delivery as their readers see them: the merchant all of it (images through
short-lived presigned URLs), the customer only who received it (first name), the photo and
where the parcel was left."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib.domain.errors import ProofNotFound
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order
from chalicelib.domain.proof import PROOF_KINDS, Proof

READ_SECONDS = 300  # a presigned GET of a proof image: long enough to open it, no more


class ProofRecords(Protocol):
    def get_proof(self, order_id: str) -> Proof | None: ...


class ImageUrls(Protocol):
    def read_url(self, key: str, seconds: int) -> str: ...


class ProofViews:
    def __init__(self, records: ProofRecords, images: ImageUrls) -> None:
        self._records = records
        self._images = images

    def for_merchant(self, order: Order) -> dict[str, Any]:
        """The order's proof of delivery as its merchant reads it (images through presigned
        GETs of 5 minutes)."""
        proof = self._records.get_proof(order.order_id)
        if proof is None:
            raise ProofNotFound(f"order {order.order_id} has no proof of delivery")
        view: dict[str, Any] = {
            "order_id": order.order_id,
            "at": proof.at,
            "labels_scanned": list(proof.labels_scanned),
            "labels_missing": list(proof.labels_missing),
            "all_scanned": not proof.labels_missing,
        }
        for name in ("recipient_name", "safe_place"):
            if getattr(proof, name):
                view[name] = getattr(proof, name)
        for kind in PROOF_KINDS:
            key = getattr(proof, f"{kind}_key")
            if key:
                view[f"{kind}_url"] = self._images.read_url(key, READ_SECONDS)
        if proof.lat is not None and proof.lng is not None:
            view["location"] = {"lat": proof.lat, "lng": proof.lng}
        return view

    def photo_origin(self) -> str:
        """The origin the customer's photo URLs are presigned on (the tracking page's policy
        allows it before a photo is there: the page swaps one in without a reload). Signing
        is local: nothing is fetched."""
        parts = urlsplit(self._images.read_url("proofs/", 1))
        return f"{parts.scheme}://{parts.netloc}"

    def for_customer(self, order: Order) -> dict[str, Any] | None:
        """What the customer's tracking page shows of the proof: that it was handed over and,
        when it was the customer, their first name (a public view carries no last name, and
        never the name of a neighbour who took it in), the photo and the safe place; never the
        GPS fix or the signature."""
        if order.status is not OrderStatus.DELIVERED:
            return None
        proof = self._records.get_proof(order.order_id)
        handed = proof is not None and first_name(proof.recipient_name) is not None
        if proof is None or not (proof.photo_key or proof.safe_place or handed):
            return None
        shown: dict[str, Any] = {}
        if handed:
            shown["handed_over"] = True
            if (received_by := customer_named(order, proof.recipient_name)) is not None:
                shown["received_by"] = received_by
        if proof.safe_place:
            shown["safe_place"] = proof.safe_place
        if proof.photo_key:
            shown["photo_url"] = self._images.read_url(proof.photo_key, READ_SECONDS)
        return shown


def first_name(name: str | None) -> str | None:
    """The first word of a recipient's name as the driver typed it (None for none)."""
    words = (name or "").split()
    return words[0] if words else None


def customer_named(order: Order, recipient: str | None) -> str | None:
    """The customer's first name when the driver's recipient begins with it ("Grace" or "Grace
    Hopper" for Grace Hopper); None for anyone else or a surname alone ("Hopper", "Mrs
    Hopper"): what the driver typed is never shown, only what the customer gave us."""
    said = first_name(recipient)
    own = order.customer.first_name
    return own if said is not None and own and said.casefold() == own.casefold() else None
