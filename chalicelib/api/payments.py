"""Delivery options and payments (contract section of that name): the merchant's price list and
quotes of delivery options, the operator's billing of a merchant, the merchant's usage."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib import bootstrap
from chalicelib.api import payment_replies
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.delivery_options.pricing import Band, PriceList
from chalicelib.delivery_options.service import MAX_OPTION_PARCELS, Quote
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.money import Money
from chalicelib.intake.canonical import MIN_WEIGHT_KG, Coordinate
from chalicelib.request_bodies import Moment

payments = Blueprint(__name__)

Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    Field(description="ISO 4217, e.g. EUR"),
]
# Stripe's largest amount is eight digits; a price past it could not be charged anyway.
MAX_AMOUNT = 99_999_999


class MoneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=MAX_AMOUNT, description="minor units (cents), never a float")
    currency: Currency

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class BillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stripe_customer_id: str = Field(pattern=r"^cus_[A-Za-z0-9]{1,64}$")
    price_per_parcel: MoneyIn


@route(payments, "/v1/merchants/{merchant_id}/billing", methods=["PUT"])
def put_billing(merchant_id: str) -> Any:
    bootstrap.accounts().authenticate_admin(bearer(payments.current_request))
    body = parse_body(payments.current_request, BillingIn)
    billing = bootstrap.usage_billing().set_billing(
        merchant_id, body.stripe_customer_id, body.price_per_parcel.money()
    )
    return json_response(payment_replies.BillingOut.of(billing).body())


@route(payments, "/v1/usage", methods=["GET"])
def get_usage() -> Any:
    merchant = bootstrap.accounts().authenticate_merchant(bearer(payments.current_request))
    month = dict(payments.current_request.query_params or {}).get("month")
    if month is None:
        raise ValidationFailed("month: required, YYYY-MM", field="month")
    usage = bootstrap.usage_billing().usage(merchant.merchant_id, month)
    return json_response(payment_replies.UsageOut.of(month, usage).body())


Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="minor units")]
LocalTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class PricesIn(BaseModel):
    """A price per option type; a type left out is not offered."""

    model_config = ConfigDict(extra="forbid")
    standard: Amount | None = None
    express: Amount | None = None
    slot: Amount | None = None
    locker: Amount | None = None


class ActionPricesIn(BaseModel):
    """What customers pay for actions on the tracking page; one left out stays free."""

    model_config = ConfigDict(extra="forbid")
    extension: Amount | None = Field(default=None, description="48 more hours at a locker")
    locker: Amount | None = Field(default=None, description="a redirect to a locker")
    reschedule: Amount | None = Field(
        default=None, description="another day after a failed attempt"
    )


class WeightBandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    over_kg: float = Field(ge=0, le=10_000)
    amount: Amount


class DistanceBandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    over_km: float = Field(ge=0, le=1_000)
    amount: Amount


class PriceListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: Currency
    prices: PricesIn
    slot_prices: dict[LocalTime, Amount] = Field(
        default_factory=dict,
        max_length=24,
        description="a two-hour slot's price by its local start time (HH:MM), over `prices.slot`",
    )
    weight_surcharges: list[WeightBandIn] = Field(default_factory=list, max_length=20)
    distance_surcharges: list[DistanceBandIn] = Field(default_factory=list, max_length=20)
    actions: ActionPricesIn = Field(default_factory=ActionPricesIn)

    def price_list(self) -> PriceList:
        prices = {k: v for k, v in self.prices.model_dump().items() if v is not None}
        return PriceList(
            currency=self.currency,
            prices=prices,
            slot_prices=dict(self.slot_prices),
            weight_bands=tuple(Band(b.over_kg, b.amount) for b in self.weight_surcharges),
            distance_bands=tuple(Band(b.over_km, b.amount) for b in self.distance_surcharges),
            action_prices={k: v for k, v in self.actions.model_dump().items() if v},
        )


class QuoteAddressIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lat: Annotated[float, Field(ge=-90, le=90), Coordinate] | None = None
    lng: Annotated[float, Field(ge=-180, le=180), Coordinate] | None = None


class QuoteParcelIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    weight_kg: float = Field(ge=MIN_WEIGHT_KG, le=1000)
    size: Literal["S", "M", "L"] | None = None


class DeliveryOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: QuoteAddressIn
    parcels: list[QuoteParcelIn] = Field(min_length=1, max_length=MAX_OPTION_PARCELS)
    date_from: Moment | None = None


@route(payments, "/v1/price-list", methods=["PUT"])
def put_price_list() -> Any:
    merchant = bootstrap.accounts().authenticate_merchant(bearer(payments.current_request))
    body = parse_body(payments.current_request, PriceListIn)
    saved = bootstrap.delivery_options().set_price_list(merchant, body.price_list())
    return json_response(payment_replies.PriceListOut.of(saved).body())


@route(payments, "/v1/price-list", methods=["GET"])
def get_price_list() -> Any:
    merchant = bootstrap.accounts().authenticate_merchant(bearer(payments.current_request))
    prices = bootstrap.delivery_options().price_list(merchant)
    if prices is None:
        raise NotFound("no price list yet: PUT /v1/price-list")
    return json_response(payment_replies.PriceListOut.of(prices).body())


@route(payments, "/v1/delivery-options", methods=["POST"])
def quote_delivery_options() -> Any:
    """The options the fleet can still serve for these parcels, each held for 15 minutes."""
    merchant = bootstrap.accounts().authenticate_merchant(bearer(payments.current_request))
    body = parse_body(payments.current_request, DeliveryOptionsIn)
    quote = Quote(
        lat=body.address.lat,
        lng=body.address.lng,
        weights_kg=tuple(p.weight_kg for p in body.parcels),
        sizes=tuple(p.size for p in body.parcels),
        date_from=body.date_from,
    )
    options = bootstrap.delivery_options().quote(merchant, quote)
    return json_response(payment_replies.DeliveryOptionsOut.of(options).body())
