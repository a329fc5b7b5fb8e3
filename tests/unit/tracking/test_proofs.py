"""Proofs of delivery: the labels at the door, and what the merchant and the customer read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import ProofNotFound, WrongParcel
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Address, Customer, OrderDraft, Parcel, labels_of, receive
from chalicelib.domain.proof import Proof, scanned_at_door
from chalicelib.tracking.proofs import READ_SECONDS, ProofViews


class Records:
    def __init__(self, *proofs: Proof) -> None:
        self.proofs = {p.order_id: p for p in proofs}

    def get_proof(self, order_id: str) -> Proof | None:
        return self.proofs.get(order_id)


class Signer:
    """Presigned GETs as the store would sign them, recording what it signed."""

    def __init__(self) -> None:
        self.signed: list[tuple[str, int]] = []

    def read_url(self, key: str, seconds: int) -> str:
        self.signed.append((key, seconds))
        return f"https://s3.example/{key}?expires={seconds}"


def an_order(parcels: int = 2):
    draft = OrderDraft(
        "ext-1",
        Customer("Ada Lovelace"),
        Address("1 Road", "London", "N1 1AA", "GB", lat=51.5, lng=-0.1),
        tuple(Parcel(1.0) for _ in range(parcels)),
    )
    order, _ = receive(draft, merchant_id="mer_1", depot_id="dep_1", source="api")
    return order


def test_labels_at_the_door_say_which_parcels_were_scanned_and_refuse_another_orders() -> None:
    order, other = an_order(3), an_order(1)
    first, second, third = labels_of(order)
    assert scanned_at_door(order, [second, second]) == ((second,), (first, third))
    assert scanned_at_door(order, []) == ((), (first, second, third))
    with pytest.raises(WrongParcel, match=labels_of(other)[0]):
        scanned_at_door(order, [first, labels_of(other)[0]])


def test_the_merchant_reads_all_of_the_proof_and_the_customer_the_photo_and_place() -> None:
    order = replace(an_order(), status=OrderStatus.DELIVERED)
    proof = Proof(
        order.order_id,
        "rte_1_000",
        "2026-01-01T10:00:00.000Z",
        labels_scanned=labels_of(order)[:1],
        labels_missing=labels_of(order)[1:],
        recipient_name="Ada",
        safe_place="porch",
        photo_key="proofs/r/o/photo-1.jpg",
        signature_key="proofs/r/o/signature-1.png",
        lat=51.5,
        lng=-0.1,
    )
    signer = Signer()
    views = ProofViews(Records(proof), signer)

    merchant = views.for_merchant(order)
    assert merchant["location"] == {"lat": 51.5, "lng": -0.1}
    assert merchant["labels_missing"] == list(labels_of(order)[1:]) and not merchant["all_scanned"]
    assert {"photo_url", "signature_url", "recipient_name", "safe_place"} <= set(merchant)
    assert all(seconds == READ_SECONDS == 300 for _, seconds in signer.signed)

    customer = views.for_customer(order)
    assert customer == {
        "handed_over": True,
        "received_by": "Ada",
        "safe_place": "porch",
        "photo_url": signer.read_url(proof.photo_key, 300),
    }
    assert views.for_customer(replace(order, status=OrderStatus.OUT_FOR_DELIVERY)) is None
    with pytest.raises(ProofNotFound):
        ProofViews(Records(), signer).for_merchant(order)


def test_the_customer_reads_their_own_first_name_and_nobody_elses_name() -> None:
    order = replace(an_order(), status=OrderStatus.DELIVERED)  # for Ada Lovelace
    only_a_name = Proof(
        order.order_id,
        "rte_1_000",
        "2026-01-01T10:00:00.000Z",
        labels_scanned=labels_of(order),
        recipient_name="  ada   Lovelace ",
    )

    def shown(recipient: str) -> dict[str, object] | None:
        proof = replace(only_a_name, recipient_name=recipient)
        return ProofViews(Records(proof), Signer()).for_customer(order)

    # The customer's own first name as they gave it, whatever the driver's spelling or surname.
    assert shown("  ada   Lovelace ") == {"handed_over": True, "received_by": "Ada"}
    assert shown("Ada") == {"handed_over": True, "received_by": "Ada"}
    # A surname alone, a title, a neighbour: handed over, and no name of anyone's shown.
    for typed in ("Lovelace", "Mrs Lovelace", "Lovelace, Ada", "Grace Hopper (next door)"):
        assert shown(typed) == {"handed_over": True}, typed
    assert shown("   ") is None, "nothing to show"


def test_the_photo_origin_is_where_the_store_presigns_and_nothing_is_read() -> None:
    signer = Signer()
    assert ProofViews(Records(), signer).photo_origin() == "https://s3.example"
    assert signer.signed == [("proofs/", 1)], "one local signature, of no photo"
