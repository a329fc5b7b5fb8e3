"""Stripe Checkout: `checkout.session.completed` (paid, with shipping details) from a merchant's
connected account becomes an order of that merchant."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.errors import SignatureInvalid
from chalicelib.intake.canonical import EventId, ExternalId, parse_order, validation_failed
from chalicelib.orders.service import Action, Ignored, Inbound

SOURCE = "stripe"
TOLERANCE_SECONDS = 300
ORDER_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
OPTION_KEY = "lastmile_option_id"  # in a shipping rate's metadata (or the session's)
DEFAULT_PARCEL_KG = 1.0  # Checkout knows prices, not weights; metadata lastmile_weight_kg wins


def verify(raw_body: bytes, signature: str | None, secret: str) -> None:
    """Stripe-Signature checked by Stripe's own library, with a 300 s timestamp tolerance."""
    import stripe  # here, not at import: the SDK is large and only Stripe's webhook needs it

    try:
        stripe.WebhookSignature.verify_header(
            raw_body.decode("utf-8", errors="replace"), signature or "", secret, TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise SignatureInvalid(f"Stripe-Signature: {exc.user_message or exc}") from exc


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StripeAddress(_Model):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class StripeShipping(_Model):
    name: str | None = None
    phone: str | None = None
    address: StripeAddress | None = None


class StripeCustomerDetails(_Model):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class StripeCollected(_Model):
    shipping_details: StripeShipping | None = None


class StripeShippingCost(_Model):
    shipping_rate: str | dict[str, Any] | None = None  # an id, or the rate when expanded


class CheckoutSession(_Model):
    id: ExternalId
    payment_status: str
    customer_details: StripeCustomerDetails | None = None
    shipping_details: StripeShipping | None = None  # API versions before 2025-03-31
    collected_information: StripeCollected | None = None  # API versions since
    metadata: dict[str, str] = {}
    shipping_cost: StripeShippingCost | None = None

    @property
    def shipping(self) -> StripeShipping | None:
        collected = self.collected_information
        return (collected.shipping_details if collected else None) or self.shipping_details


class StripeEvent(_Model):
    id: EventId
    type: Annotated[str, Field(max_length=200)]
    account: EventId | None = None  # a connected account's id: the merchant is looked up by it
    data: dict[str, Any]


def parse_event(payload: Any) -> StripeEvent:
    try:
        return StripeEvent.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(exc) from exc


def translate(event: StripeEvent) -> Inbound | Ignored:
    if event.type not in ORDER_EVENTS:
        return Ignored(f"event type {event.type!r} is not handled")
    try:
        session = CheckoutSession.model_validate(event.data.get("object"))
    except ValidationError as exc:
        raise validation_failed(exc, prefix="data.object.") from exc
    if session.payment_status not in ("paid", "no_payment_required"):
        return Ignored("checkout is not paid yet")
    shipping = session.shipping
    if shipping is None or shipping.address is None:
        return Ignored("checkout collected no shipping address")
    return Inbound(
        source=SOURCE,
        action=Action.UPSERT,
        external_id=session.id,
        draft=parse_order(canonical(session, shipping)),
        event_id=event.id,
    )


PAID_ACTION_KEY = "lastmile_paid_action"  # the metadata of the platform's own sessions


def paid_action_id(event: StripeEvent) -> str | None:
    """The tracking-page action a paid session of the platform's pays for, if it is one."""
    if event.type not in ORDER_EVENTS or event.account:
        return None
    try:
        session = CheckoutSession.model_validate(event.data.get("object"))
    except ValidationError:
        return None
    if session.payment_status != "paid":
        return None
    action_id = session.metadata.get(PAID_ACTION_KEY)
    return action_id if action_id and len(action_id) <= 64 else None


def chosen_shipping_rate(event: StripeEvent) -> str | dict[str, Any] | None:
    """The shipping rate the customer chose (its id, as events carry it), if any."""
    try:
        session = CheckoutSession.model_validate(event.data.get("object"))
    except ValidationError:
        return None
    return session.shipping_cost.shipping_rate if session.shipping_cost else None


def _number(value: str | None) -> float | None:
    # Metadata is text; "1e999" reads as infinity, which the canonical order refuses by name.
    try:
        return float(value) if value else None
    except ValueError:
        return None


def canonical(session: CheckoutSession, shipping: StripeShipping) -> dict[str, Any]:
    address = shipping.address or StripeAddress()
    customer = session.customer_details or StripeCustomerDetails()
    meta = session.metadata
    delivery: dict[str, Any] = {"type": meta.get("lastmile_delivery_type", "home")}
    if meta.get("lastmile_locker_id"):
        delivery["locker_id"] = meta["lastmile_locker_id"]
    if meta.get(OPTION_KEY):
        delivery["option_id"] = meta[OPTION_KEY]
    return {
        "external_id": session.id,
        "customer": {
            "name": shipping.name or customer.name,
            "email": customer.email,
            "phone": shipping.phone or customer.phone,
        },
        "address": {
            "line1": address.line1,
            "line2": address.line2 or None,
            "city": address.city,
            "postcode": address.postal_code,
            "country": address.country,
            "lat": _number(meta.get("lastmile_lat")),
            "lng": _number(meta.get("lastmile_lng")),
        },
        "parcels": [{"weight_kg": _number(meta.get("lastmile_weight_kg")) or DEFAULT_PARCEL_KG}],
        "delivery": delivery,
    }
