"""The bodies of the delivery options and payments answers (api/payments.py): a merchant's price
list, the delivery options quoted, its billing and its month's usage. The OpenAPI document takes
each model's schema (api/openapi/payments.py), so what is sent and what is documented agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.api.replies import Reply
from chalicelib.delivery_options import pricing
from chalicelib.domain.money import Money
from chalicelib.store.billing import MerchantBilling, MonthUsage

Minor = Annotated[int, Field(ge=0, description="minor units (cents), never a float")]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class MoneyOut(Reply):
    amount: Minor
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217, e.g. EUR")

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=money.amount, currency=money.currency)


class PricesOut(Reply):
    """A price per option type; a type left out is not offered."""

    standard: Minor | None = None
    express: Minor | None = None
    slot: Minor | None = None
    locker: Minor | None = None


class ActionPricesOut(Reply):
    """What customers pay for actions on the tracking page; one left out is free."""

    extension: Minor | None = Field(default=None, description="48 more hours at a locker")
    locker: Minor | None = Field(default=None, description="a redirect to a locker")
    reschedule: Minor | None = Field(default=None, description="another day after a failed attempt")


class WeightBandOut(Reply):
    over_kg: float = Field(description="the surcharge applies above this weight")
    amount: Minor


class DistanceBandOut(Reply):
    over_km: float = Field(description="the surcharge applies above this distance from the depot")
    amount: Minor


class PriceListOut(Reply):
    """A merchant's prices of delivery options, as last put (delivery_options/pricing.py)."""

    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217, e.g. EUR")
    prices: PricesOut
    slot_prices: dict[str, Minor] = Field(
        description="a two-hour slot's price by its local start time (HH:MM), over `prices.slot`"
    )
    weight_surcharges: list[WeightBandOut] = Field(
        description="the highest band passed adds its amount (bands are not cumulative)"
    )
    distance_surcharges: list[DistanceBandOut] = Field(
        description="the highest band passed adds its amount (bands are not cumulative)"
    )
    actions: ActionPricesOut

    @classmethod
    def of(cls, prices: pricing.PriceList) -> PriceListOut:
        return cls.model_validate(prices.as_dict())


class OptionWindow(Reply):
    start: Moment
    end: Moment


class OptionLocker(Reply):
    """The locker a `locker` option is collected from: the nearest with room."""

    locker_id: str
    name: str
    distance_m: int = Field(ge=0, description="from the address quoted")


class StripeFixedAmount(Reply):
    amount: Minor
    currency: str = Field(pattern="^[a-z]{3}$", description="lower case, as Stripe takes it")


class StripeEstimateBound(Reply):
    unit: Literal["hour"]
    value: int = Field(ge=1)


class StripeDeliveryEstimate(Reply):
    minimum: StripeEstimateBound
    maximum: StripeEstimateBound


class StripeRateMetadata(Reply):
    lastmile_option_id: str = Field(description="the option an order paid through it redeems")


class StripeShippingRateData(Reply):
    """A Checkout Session's `shipping_options[].shipping_rate_data`, as the storefront passes
    it to Stripe."""

    type: Literal["fixed_amount"]
    fixed_amount: StripeFixedAmount
    display_name: str
    delivery_estimate: StripeDeliveryEstimate
    metadata: StripeRateMetadata


class DeliveryOption(Reply):
    """One option quoted (delivery_options/service.py), its capacity held until expires_at."""

    option_id: str = Field(
        description="redeemed by an order carrying it (delivery.option_id, a Shopify note "
        "attribute lastmile_option_id, or a Stripe shipping rate's metadata)"
    )
    type: Literal["standard", "express", "slot", "locker"]
    window: OptionWindow
    price: MoneyOut
    expires_at: Moment = Field(description="the hold ends: an order after it is option_expired")
    stripe_shipping_rate_data: StripeShippingRateData
    locker: OptionLocker | None = Field(default=None, description="a locker option's locker")


class DeliveryOptionsOut(Reply):
    options: list[DeliveryOption] = Field(description="none when the fleet is full")

    @classmethod
    def of(cls, options: Sequence[Mapping[str, Any]]) -> DeliveryOptionsOut:
        return cls.model_validate({"options": list(options)})


class BillingOut(Reply):
    """Whom Stripe bills for a merchant's delivered parcels, and at what price."""

    merchant_id: str
    stripe_customer_id: str
    price_per_parcel: MoneyOut
    updated_at: Moment

    @classmethod
    def of(cls, billing: MerchantBilling) -> BillingOut:
        return cls(
            merchant_id=billing.merchant_id,
            stripe_customer_id=billing.stripe_customer_id,
            price_per_parcel=MoneyOut.of(billing.price_per_parcel),
            updated_at=billing.updated_at,
        )


class UsageOut(Reply):
    """A merchant's month so far: its delivered parcels, what they come to and how many Stripe
    Billing has (each parcel is one meter event, reported once)."""

    month: str = Field(description="YYYY-MM")
    delivered_parcels: int = Field(ge=0)
    amount: Minor
    currency: str | None = Field(
        pattern="^[A-Z]{3}$", description="null until a parcel is counted at a price"
    )
    reported_to_stripe: int = Field(ge=0)

    @classmethod
    def of(cls, month: str, usage: MonthUsage) -> UsageOut:
        return cls(
            month=month,
            delivered_parcels=usage.delivered_parcels,
            amount=usage.amount,
            currency=usage.currency,
            reported_to_stripe=usage.reported_to_stripe,
        )

    def body(self) -> dict[str, Any]:
        # A null currency is sent: the month has no priced parcel yet.
        return self.model_dump(mode="json")
